"""Process-wide settings an import changes are restored afterwards."""

import gc

import pytest

from sync.importing.run import fewer_gc_passes


def test_fewer_gc_passes_raises_the_threshold_and_restores_it():
    before = gc.get_threshold()
    with fewer_gc_passes(50_000):
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold() == before


def test_fewer_gc_passes_restores_the_threshold_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_gc_passes():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
