"""Vector tile benchmark: 1,000,000 addresses on a grid; the densest z14 tile and a z10 tile
over the densest region served over HTTP (with auth) next to the bare ST_AsMVT SQL for the
same tiles, and tile throughput under `wrk` (16 connections, a set of z14/z15 tiles), with
and without FiberSync's tile cache, against tipg's tiles of the same table (tipg in its own
venv bench/.venv-tipg: pip install tipg uvicorn).

    .venv/bin/python bench/tiles_bench.py --addresses 1000000

Needs Debian's `wrk`.
"""

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import free_port, fresh_database  # noqa: E402
from isp_bench import TIPG, serve, uvicorn  # noqa: E402

from api.auth import create_api_key  # noqa: E402
from gis import tiles  # noqa: E402
from gis.database import libpq_url, sqlalchemy_url  # noqa: E402
from gis.status import Role  # noqa: E402

COLUMNS, STEP, LON0, LAT0 = 1000, 0.0002, 0.1, 52.0
STATUSES = "ARRAY['planned', 'surveyed', 'in_deployment', 'ready_for_service', 'connected']"


def load(database_url: str, count: int) -> tuple[str, float]:
    """`count` addresses on a grid (the address cells filled by their trigger on the way);
    returns a planner's key and the load time."""
    engine = create_engine(sqlalchemy_url(database_url))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO addresses (feature_id, name, street_name, location, status,
                                   content_hash)
            SELECT n + 1, 'House ' || n, 'Bench Street',
                   ST_SetSRID(ST_MakePoint(:lon0 + (n % :cols) * :step,
                                           :lat0 + (n / :cols) * :step), 4326),
                   ({STATUSES})[1 + (n / 20000) % 5], n
            FROM generate_series(0, :count - 1) AS n"""),
            {"lon0": LON0, "lat0": LAT0, "cols": COLUMNS, "step": STEP, "count": count})
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("addresses", "address_cells"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    with Session(engine) as session:
        plain, _ = create_api_key(session, Role.planner, "bench", None, None)
        session.commit()
    engine.dispose()
    return plain, elapsed


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def median_ms(action: Callable[[], bytes], rounds: int) -> tuple[float, int]:
    action()  # warm
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(action())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


def bare_sql(database_url: str, z: int, x: int, y: int) -> Callable[[], bytes]:
    """The naive address tile: every address as its own feature, no aggregation, no auth."""
    # Without JIT, as the API runs it (see gis.database.make_engine).
    conn = psycopg.connect(libpq_url(database_url), autocommit=True, options="-c jit=off")
    sql = tiles.LAYERS["addresses"]
    for name in ("z", "x", "y", "margin", "extent", "buffer", "cap"):
        sql = sql.replace(f":{name}", f"%({name})s")
    params = {"z": z, "x": x, "y": y, "margin": tiles.BUFFER / tiles.EXTENT,
              "extent": tiles.EXTENT, "buffer": tiles.BUFFER, "cap": 10_000_000}
    return lambda: bytes(conn.execute(sql, params).fetchone()[0] or b"")  # type: ignore[index]


def wrk_paths(base: str, paths: list[str], seconds: int, key: str | None) -> tuple[float, str, str]:
    """wrk cycling through `paths` (a Lua script picks the next one per request)."""
    script = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n" \
             "request = function()\n  i = i % #paths + 1\n" \
             "  return wrk.format(nil, paths[i])\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", lua.name, base]
    if key:
        command[1:1] = ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors from {base}:\n{out}")
    rate = float(out.split("Requests/sec:")[1].split()[0])
    latency = {line.split()[0]: line.split()[1] for line in out.splitlines()
               if line.strip().startswith(("50%", "99%"))}
    return rate, latency["50%"], latency["99%"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-tipg", action="store_true")
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1:5432/fibersync_tiles_bench")
    args = parser.parse_args()

    fresh_database(args.database_url)
    key, load_s = load(args.database_url, args.addresses)
    rows = args.addresses // COLUMNS
    centre = (LON0 + COLUMNS / 2 * STEP, LAT0 + rows / 2 * STEP)
    z14, z10 = tile_of(*centre, 14), tile_of(*centre, 10)
    print(f"{args.addresses:,} addresses loaded in {load_s:.1f} s (address cells included)")

    env = {"DATABASE_URL": args.database_url, "FIBERSYNC_RATE_LIMIT_PER_SECOND": "0"}
    # The throughput set: the densest z14 tile, its 8 neighbours and its 4 z15 children.
    x14, y14 = z14
    tile_set = [(14, x14 + dx, y14 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)] + \
               [(15, 2 * x14 + dx, 2 * y14 + dy) for dx in (0, 1) for dy in (0, 1)]
    paths = [f"/tiles/addresses/{z}/{x}/{y}.pbf" for z, x, y in tile_set]
    figures = [("z14 densest, bare ST_AsMVT SQL",
                *median_ms(bare_sql(args.database_url, 14, *z14), args.rounds)),
               ("z10 densest, bare ST_AsMVT SQL (naive)",
                *median_ms(bare_sql(args.database_url, 10, *z10), max(3, args.rounds // 5)))]
    results = []
    for label, cache_bytes in (("no cache", "0"), ("tile cache", str(64 * 1_048_576))):
        port = free_port()
        server = serve(uvicorn(Path(sys.executable),
                               ["--factory", "api.app:app_from_environment"], port,
                               args.workers), {**env, "FIBERSYNC_TILE_CACHE_BYTES": cache_bytes},
                       port, "/healthz")
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60,
                              headers={"Authorization": f"Bearer {key}"}) as client:
                for name, (z, x, y) in (("z14 densest", (14, *z14)),
                                        ("z10 densest", (10, *z10))):
                    url = f"/tiles/addresses/{z}/{x}/{y}.pbf"
                    figures.append((f"{name}, FiberSync over HTTP, {label}",
                                    *median_ms(lambda url=url: client.get(url).content,
                                               args.rounds)))
            results.append((f"FiberSync, {label}", *wrk_paths(base, paths, args.seconds, key)))
        finally:
            server.terminate()
    print(f"median of {args.rounds} requests, one at a time (bare SQL: no HTTP, no auth):")
    for name, ms, size in figures:
        print(f"  {name:48} {ms:8.1f} ms  {size / 1024:9.1f} KB")
    print(f"  z14 over HTTP without the cache / bare SQL: {figures[2][1] / figures[0][1]:.2f}x")

    if not args.skip_tipg and (TIPG / "bin" / "python").exists():
        port = free_port()
        tipg_env = {**env, "TIPG_DB_SCHEMAS": '["public"]',
                    "TIPG_DB_TABLES": '["public.addresses"]', "TIPG_MAX_FEATURES_PER_TILE":
                    "100000"}
        tipg = serve(uvicorn(TIPG / "bin" / "python", ["tipg.main:app"], port, args.workers),
                     tipg_env, port, "/collections")
        try:
            tipg_paths = [f"/collections/public.addresses/tiles/WebMercatorQuad/{z}/{x}/{y}"
                          "?properties=feature_id,status" for z, x, y in tile_set]
            results.append(("tipg", *wrk_paths(f"http://127.0.0.1:{port}", tipg_paths,
                                               args.seconds, None)))
        finally:
            tipg.terminate()
    print(f"throughput, wrk -c16 for {args.seconds} s over {len(tile_set)} z14/z15 tiles, "
          f"{args.workers} uvicorn worker(s) each:")
    for name, rate, p50, p99 in results:
        print(f"  {name:24} {rate:8.1f} tiles/s   p50 {p50:>8}   p99 {p99:>8}")
    if len(results) == 3:
        print(f"  FiberSync / tipg: {results[1][1] / results[2][1]:.2f}x with the tile cache, "
              f"{results[0][1] / results[2][1]:.2f}x without")


if __name__ == "__main__":
    main()
