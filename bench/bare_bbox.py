"""The bare endpoint of the ISP benchmark: FastAPI + psycopg running the serviceability SQL
for a bbox, with no auth, no scoping and no ORM. Served by bench/isp_bench.py.

    DATABASE_URL=... uvicorn --factory bare_bbox:make_app --app-dir bench
"""

import os
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis.database import libpq_url
from gis.queries.serviceability import _FEATURE, AddressSearch


def _sql(search: AddressSearch) -> str:
    where = " AND ".join(search.where())
    sql = ("SELECT coalesce(json_agg(f), '[]')::text FROM (" + _FEATURE + " WHERE " + where
           + " ORDER BY a.feature_id LIMIT :limit) s(f)")
    for name in [*search.params, "isp"]:
        sql = sql.replace(f":{name}", f"%({name})s")
    return sql


def make_app() -> FastAPI:
    local = threading.local()
    url = libpq_url(os.environ["DATABASE_URL"])
    app = FastAPI()

    def connection() -> psycopg.Connection[Any]:
        if getattr(local, "conn", None) is None:
            local.conn = psycopg.connect(url, autocommit=True)
        return local.conn  # type: ignore[no-any-return]

    @app.get("/bbox")
    def bbox(bbox: str, limit: int = 1000) -> Response:
        west, south, east, north = (float(v) for v in bbox.split(","))
        search = AddressSearch(bbox=(west, south, east, north), limit=limit)
        sql = _sql(search)
        row = connection().execute(sql, {**search.params, "isp": None}).fetchone()
        features = row[0] if row else "[]"
        return Response('{"type":"FeatureCollection","features":' + features + "}",
                        media_type="application/geo+json")

    return app
