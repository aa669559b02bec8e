"""Reading a layer page by page, several pages at once, in reader processes.

Each reader fetches a page, decodes it and classifies it (`classify_page`), so the importer
only absorbs rows to write. Readers are processes, each with its own IQGeo session: decoding
and classifying is most of an import's Python, and reader threads shared one core through
the GIL while the other core waited for PostgreSQL. A page comes back as plain tuples and
numpy arrays, which pickle cheaply.
"""

import atexit
import gc
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from sync.importing.classify import Mapping, PageResult, classify_page
from sync.importing.features import AddressMapping, CircuitMapping
from sync.importing.hash_index import HashIndex
from sync.importing.wire import decode_page
from sync.iqgeo import IQGeoClient, IQGeoSettings

# Readers start from a small server process that has imported this module once, not from
# the importer (which may be a web app with threads running): fast and safe to fork.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


def mapping_for(kind: str, settings: IQGeoSettings) -> Mapping:
    return AddressMapping(settings) if kind == "address" else CircuitMapping(settings)


def _read(client: IQGeoClient, mapping: Mapping, index: HashIndex, feature_type: str,
          offset: int, page_size: int) -> PageResult:
    content = client.list_page_content(feature_type, offset, page_size,
                                       include_total=offset == 0)
    features, total = decode_page(content, feature_type, mapping.wire)
    result = classify_page(features, mapping, index)
    result.total = total
    return result


class _Reader:
    """What one reader process holds: its IQGeo session, the mapping and the stored hashes."""

    current: "_Reader | None" = None

    def __init__(self, settings: IQGeoSettings, kind: str, index: HashIndex) -> None:
        self.client = IQGeoClient(settings)
        self.mapping = mapping_for(kind, settings)
        self.index = index


def _start_reader(settings: IQGeoSettings, kind: str, ids: np.ndarray, hashes: np.ndarray,
                  importer_pid: int) -> None:
    gc.set_threshold(100_000, 20, 100)  # see run.fewer_gc_passes
    _Reader.current = _Reader(settings, kind, HashIndex(ids, hashes))
    atexit.register(_Reader.current.client.close)
    threading.Thread(target=_end_with, args=(importer_pid,), daemon=True).start()


def _end_with(importer_pid: int) -> None:
    """A reader would outlive a killed importer, waiting forever for its next page: it
    checks every second that the importer is still there."""
    while True:
        time.sleep(1)
        try:
            os.kill(importer_pid, 0)
        except ProcessLookupError:
            os._exit(1)


def _read_page(feature_type: str, offset: int, page_size: int) -> PageResult:
    reader = _Reader.current
    assert reader is not None, "not a reader process"
    return _read(reader.client, reader.mapping, reader.index, feature_type, offset, page_size)


def _in_order(submit: Callable[[int], Future[PageResult]], page_size: int,
              window: int) -> Iterator[PageResult]:
    """Results in offset order, `window` pages in flight; ends at the first short page
    (IQGeo sets `next_offset` even on an exactly full last page)."""
    in_flight: deque[Future[PageResult]] = deque()
    next_offset = 0
    try:
        while True:
            while len(in_flight) < window:
                in_flight.append(submit(next_offset))
                next_offset += page_size
            result = in_flight.popleft().result()
            yield result
            if result.size < page_size:
                return
    finally:
        for future in in_flight:
            future.cancel()


def read_layer(settings: IQGeoSettings, kind: str, feature_type: str,
               index: HashIndex) -> Iterator[PageResult]:
    """Every page of a layer, classified, in offset order, by `settings.sessions` readers.

    Up to `settings.read_ahead` pages are read ahead, so reading goes on while the importer
    waits on the database."""
    readers = ProcessPoolExecutor(settings.sessions, mp_context=_CONTEXT,
                                  initializer=_start_reader,
                                  initargs=(settings, kind, index.ids, index.hashes, os.getpid()))
    try:
        yield from _in_order(
            lambda offset: readers.submit(_read_page, feature_type, offset, settings.page_size),
            settings.page_size, window=max(settings.read_ahead, settings.sessions))
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
