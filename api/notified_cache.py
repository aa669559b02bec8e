"""In-memory caches that PostgreSQL empties: rendered tiles and the callers' keys.

Statement triggers send `NOTIFY` on a channel whenever the cached data changes (map data:
migration 0007, `fibersync_map`; API keys: migration 0011, `fibersync_keys`), and
PostgreSQL delivers it at commit. A listener thread empties the cache on each notification
and counts a generation; a value is stored only if no notification arrived while it was
computed, so a value read before a commit is never kept past that commit's notice. Without
a listening connection nothing is cached.
"""

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

import psycopg
from cachetools import LRUCache

from api.auth import Principal
from gis.database import libpq_url

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
TileKey = tuple[str, int, int, int]


class NotifiedCache(Generic[K, V]):
    def __init__(self, database_url: str, channel: str, max_size: int,
                 getsizeof: Callable[[V], float] | None = None) -> None:
        self._url = libpq_url(database_url)
        self._channel = channel
        self._values: LRUCache[K, V] = LRUCache(max_size, getsizeof=getsizeof)
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.generation = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name=f"{self._channel}-cache",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def get(self, key: K) -> V | None:
        if not self._listening.is_set():
            return None
        with self._lock:
            return self._values.get(key)

    def put(self, key: K, generation: int, value: V) -> None:
        """Keep `value`, computed after reading `generation`, unless data changed since."""
        with self._lock:
            if self._listening.is_set() and generation == self.generation:
                self._values[key] = value

    def _invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._values.clear()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._invalidate()  # whatever changed before we listened
                    self._listening.set()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._invalidate()
            except psycopg.Error as error:
                logger.warning("%s cache listener lost its connection: %s", self._channel,
                               error)
                self._stopping.wait(1.0)
            finally:
                self._listening.clear()
                self._invalidate()


@dataclass(frozen=True)
class CachedTile:
    data: bytes
    etag: str


class TileCache(NotifiedCache[TileKey, CachedTile]):
    """Rendered tiles up to `max_bytes`, dropped whenever map data changes."""

    def __init__(self, database_url: str, max_bytes: int) -> None:
        super().__init__(database_url, "fibersync_map", max_bytes,
                         getsizeof=lambda tile: len(tile.data) + 200)


class PrincipalCache(NotifiedCache[str, Principal]):
    """Callers by key hash, dropped whenever any key is changed, revoked or deleted: the
    key lookup was a fifth of a point search's time."""

    def __init__(self, database_url: str, max_keys: int) -> None:
        super().__init__(database_url, "fibersync_keys", max_keys)
