"""Reads served on the event loop, for the busiest routes (the ISPs' address search).

Each read is one transaction on a pooled async connection: the ISP scope (role and setting,
as in `gis.scoping`), the query, the COMMIT; no worker thread or ORM is involved. Measured
on the point search with 2 workers: 550 requests/s through a session in worker threads,
1,100 this way. (psycopg's pipeline mode, which sends all three at once, measured slower
here: its Python costs more than the round trips it saves on a local socket.)
"""

import re
from functools import lru_cache
from typing import Any, Protocol

from psycopg import OperationalError
from psycopg_pool import AsyncConnectionPool

from gis.database import libpq_url
from gis.scoping import ENTER_ISP_SCOPE

Row = tuple[Any, ...]
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=256)  # a search's SQL depends only on which filters it combines
def psycopg_style(sql: str) -> str:
    """SQLAlchemy's `:name` placeholders as psycopg's `%(name)s` (`::casts` stay)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class Reads(Protocol):
    async def fetch_row(self, sql: str, params: dict[str, Any],
                        isp: str | None = None) -> Row | None:
        """The first row of `sql` (psycopg style), scoped to `isp` when given."""
        ...


class PooledReads:
    def __init__(self, database_url: str, max_size: int) -> None:
        self.pool = AsyncConnectionPool(
            libpq_url(database_url), min_size=1, max_size=max_size, open=False,
            kwargs={"options": "-c jit=off"})  # see gis.database.make_engine

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()

    async def fetch_row(self, sql: str, params: dict[str, Any],
                        isp: str | None = None) -> Row | None:
        try:
            return await self._fetch_row(sql, params, isp)
        except OperationalError:
            # A connection the server dropped (a restart) fails once; the pool replaces it.
            # A read is safe to send again.
            return await self._fetch_row(sql, params, isp)

    async def _fetch_row(self, sql: str, params: dict[str, Any],
                         isp: str | None) -> Row | None:
        async with self.pool.connection() as conn:
            if isp is not None:
                await conn.execute(psycopg_style(ENTER_ISP_SCOPE), {"isp": isp})
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
            await conn.commit()  # the scope ends with the transaction
            return row
