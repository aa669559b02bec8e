"""What the database already holds, as sorted numpy arrays: 16 bytes per row, no features."""

import numpy as np
from psycopg import Connection, sql

# Two BIGINTs as int8send writes them, back to back.
_ROW = np.dtype([("id", ">i8"), ("hash", ">i8")])
_BLOCK = 16  # ids in a block of the search: two cache lines


class HashIndex:
    """feature id -> content hash of the live (not retired) rows of a table."""

    def __init__(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        self.ids = ids
        self.hashes = hashes
        self._whole = len(ids) - len(ids) % _BLOCK
        self._blocks = ids[:self._whole].reshape(-1, _BLOCK)  # a view, no copy
        self._firsts = self._blocks[:, 0].copy()

    @classmethod
    def load(cls, conn: Connection[tuple[object, ...]], table: str) -> "HashIndex":
        # One bytea of every (id, hash) pair: a row at a time, a COPY took twice as long to
        # read here. Sorted here, not by ORDER BY: PostgreSQL would walk the primary key,
        # reading the table in id order, not the order it was written in (4 s against 0.1 s
        # for a million circuits, measured). A bytea holds up to 1 GB: 67 million rows.
        query = sql.SQL(
            "SELECT string_agg(int8send(feature_id) || int8send(content_hash), ''::bytea)"
            " FROM {} WHERE NOT retired"
        ).format(sql.Identifier(table))
        row = conn.execute(query).fetchone()
        pairs = row[0] if row and isinstance(row[0], bytes) else b""
        rows = np.frombuffer(pairs, dtype=_ROW)
        order = np.argsort(rows["id"], kind="stable")
        return cls(rows["id"][order].astype(np.int64), rows["hash"][order].astype(np.int64))

    @classmethod
    def empty(cls) -> "HashIndex":
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(where each id is or would be, whether it is stored)."""
        if len(self.ids) == 0:
            return np.zeros(len(ids), dtype=np.intp), np.zeros(len(ids), dtype=bool)
        at = np.minimum(self._search(ids), len(self.ids) - 1)
        return at, self.ids[at] == ids

    def _search(self, ids: np.ndarray) -> np.ndarray:
        """np.searchsorted(self.ids, ids) in two steps that stay in the CPU's cache: the
        block (among the first ids of blocks, a sixteenth of them), then within it. A plain
        binary search over a million ids missed the cache at each of its last steps; this
        halved the time of a page's lookups, measured, and every page read does one."""
        if len(self._firsts) == 0:  # fewer ids than a block
            return np.searchsorted(self.ids, ids)
        block = np.maximum(np.searchsorted(self._firsts, ids, side="right") - 1, 0)
        at: np.ndarray = block * _BLOCK + (self._blocks[block] < ids[:, None]).sum(axis=1)
        past = at == self._whole  # beyond the whole blocks: in the few ids after them
        if past.any():
            at[past] = self._whole + np.searchsorted(self.ids[self._whole:], ids[past])
        return at

    def changed(self, ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask: True where a feature is new or its hash differs from the stored one."""
        if len(self.ids) == 0:
            return np.ones(len(ids), dtype=bool)
        at, stored = self.positions(ids)
        changed: np.ndarray = ~stored | (self.hashes[at] != hashes)
        return changed


class SeenIds:
    """The stored rows a scan has seen, and whether it saw an id twice: a byte per stored
    row, plus the ids that were not stored (few, outside a first load).

    The rows to retire and the need for a duplicate check come from here, not from joins and
    groupings over every id in PostgreSQL: 4 s of a million-address re-sync, measured."""

    def __init__(self, index: HashIndex) -> None:
        self.index = index
        self.seen = np.zeros(len(index), dtype=bool)
        self.stored_listed = 0  # stored ids listed, repeats counted: more than seen if any
        self.unstored: set[int] = set()
        self.unstored_repeated = False

    def add(self, ids: np.ndarray) -> None:
        at, stored = self.index.positions(ids)
        found = at[stored]
        self.seen[found] = True
        self.stored_listed += len(found)
        new = ids[~stored].tolist()
        if len(set(new)) < len(new) or not self.unstored.isdisjoint(new):
            self.unstored_repeated = True
        self.unstored.update(new)

    @property
    def repeated(self) -> bool:
        """Whether any id was listed more than once (counted once at the end, not per page:
        sorting each page's ids to find repeats cost 0.7 s of a million-address re-sync)."""
        return self.unstored_repeated or int(self.seen.sum()) != self.stored_listed

    def vanished(self) -> list[int]:
        """The stored ids the scan did not see."""
        vanished: list[int] = self.index.ids[~self.seen].tolist()
        return vanished
