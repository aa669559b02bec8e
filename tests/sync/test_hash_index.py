"""What a scan has seen, kept in numpy: the rows to retire and whether an id came twice."""

import numpy as np

from sync.importing.hash_index import HashIndex, SeenIds


def ids(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def stored() -> HashIndex:
    return HashIndex(ids(10, 20, 30, 40), ids(1, 2, 3, 4))


def test_the_stored_ids_not_seen_have_vanished():
    seen = SeenIds(stored())
    seen.add(ids(40, 10, 99))  # 99 is new
    seen.add(ids(7))
    assert seen.vanished() == [20, 30]
    assert not seen.repeated


def test_an_id_seen_twice_is_noticed_wherever_it_comes():
    for pages in ([ids(10, 10)], [ids(10), ids(20, 10)], [ids(99, 5), ids(99)],
                  [ids(5, 5)]):
        seen = SeenIds(stored())
        for page in pages:
            seen.add(page)
        assert seen.repeated, pages


def test_changed_marks_new_and_altered_features():
    index = stored()
    assert index.changed(ids(10, 20, 50), ids(1, 9, 5)).tolist() == [False, True, True]
    assert HashIndex.empty().changed(ids(10), ids(1)).tolist() == [True]


def test_positions_agree_with_a_plain_binary_search():
    generator = np.random.default_rng(7)
    for size in (0, 1, 15, 16, 17, 1000, 4099):
        stored_ids = np.unique(generator.integers(1, 10 * size + 10, size))
        index = HashIndex(stored_ids, stored_ids)
        asked = np.concatenate([generator.integers(0, 10 * size + 20, 500), stored_ids])
        at, found = index.positions(asked)
        if len(stored_ids) == 0:
            assert not found.any()
            continue
        plain = np.minimum(np.searchsorted(stored_ids, asked), len(stored_ids) - 1)
        assert at.tolist() == plain.tolist(), size
        assert found.tolist() == (stored_ids[plain] == asked).tolist()
