"""Rendered tiles kept in memory, dropped whenever map data changes.

Statement triggers on the mapped tables send `NOTIFY fibersync_map` (migration 0007), which
PostgreSQL delivers at commit. A listener thread empties the cache on each notification and
counts a generation; a tile is stored only if no notification arrived while it was computed,
so a tile computed from data older than a commit is never kept past that commit's notice.
Without a listening connection nothing is cached.
"""

import logging
import threading
from dataclasses import dataclass

import psycopg
from cachetools import LRUCache

from gis.database import libpq_url

logger = logging.getLogger(__name__)
CHANNEL = "fibersync_map"
TileKey = tuple[str, int, int, int]


@dataclass(frozen=True)
class CachedTile:
    data: bytes
    etag: str


class TileCache:
    def __init__(self, database_url: str, max_bytes: int) -> None:
        self._url = libpq_url(database_url)
        self._tiles: LRUCache[TileKey, CachedTile] = LRUCache(
            max_bytes, getsizeof=lambda tile: len(tile.data) + 200)
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.generation = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="tile-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def get(self, key: TileKey) -> CachedTile | None:
        if not self._listening.is_set():
            return None
        with self._lock:
            return self._tiles.get(key)

    def put(self, key: TileKey, generation: int, tile: CachedTile) -> None:
        """Keep `tile`, computed after reading `generation`, unless data changed since."""
        with self._lock:
            if self._listening.is_set() and generation == self.generation:
                self._tiles[key] = tile

    def _invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._tiles.clear()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._invalidate()  # whatever changed before we listened
                    self._listening.set()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._invalidate()
            except psycopg.Error as error:
                logger.warning("tile cache listener lost its connection: %s", error)
                self._stopping.wait(1.0)
            finally:
                self._listening.clear()
                self._invalidate()
