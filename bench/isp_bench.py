"""ISP serviceability benchmark: 1,000,000 addresses; `wrk` (16 connections) against
FiberSync (with auth and ISP scoping), tipg (developmentseed's OGC API Features server, in
its own venv bench/.venv-tipg) and a bare FastAPI + psycopg endpoint (bench/bare_bbox.py)
running the same SQL; each server with the same number of uvicorn workers.

    .venv/bin/python bench/isp_bench.py --addresses 1000000 --seconds 15

Prints requests/s and p50/p99 latency for point + radius and for a bbox of about 1,000
addresses, each at full speed (16 connections as fast as they can go: the latency is then
mostly queueing), and the point search paced near `--rate` requests/s (each connection waits
between requests; wrk2, which paces without this tool's coordinated-omission blind spot,
is not in Debian). Needs Debian's `wrk`.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import free_port, fresh_database  # noqa: E402

from api.auth import create_api_key  # noqa: E402
from gis.database import sqlalchemy_url  # noqa: E402
from gis.status import Role  # noqa: E402

COLUMNS, STEP, LON0, LAT0 = 1000, 0.0002, 0.1, 52.0
TIPG = ROOT / "bench" / ".venv-tipg"


def load(database_url: str, count: int) -> str:
    """`count` serviceable addresses on a grid; returns an ISP key."""
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO addresses (feature_id, name, street_name, postcode, location, status,
                                   content_hash)
            SELECT n + 1, (n % 40 + 1) || ' Bench Street', 'Bench Street', 'CB1 ' || (n % 9),
                   ST_SetSRID(ST_MakePoint(:lon0 + (n % :cols) * :step,
                                           :lat0 + (n / :cols) * :step), 4326),
                   CASE WHEN n % 3 = 0 THEN 'connected' ELSE 'ready_for_service' END, n
            FROM generate_series(0, :count - 1) AS n"""),
            {"lon0": LON0, "lat0": LAT0, "cols": COLUMNS, "step": STEP, "count": count})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE addresses"))
    with Session(engine) as session:
        plain, _ = create_api_key(session, Role.isp, "bench", "isp-bench", None)
        session.commit()
    engine.dispose()
    return plain


def serve(command: list[str], env: dict[str, str], port: int, probe: str,
          headers: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", headers=headers,
                         timeout=5).status_code < 500:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command[0]} did not start")


def wrk(url: str, seconds: int, key: str | None = None,
        pause_ms: float | None = None) -> tuple[float, str, str]:
    """(requests/s, p50, p99); with `pause_ms`, each connection waits that long between a
    reply and its next request."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    if key:
        command[1:1] = ["-H", f"Authorization: Bearer {key}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if pause_ms is not None:
            script.write(f"function delay() return {pause_ms:.1f} end\n")
            script.flush()
            command[1:1] = ["-s", script.name]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # the latency distribution lines; a stdev column can also end in "99%"
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"errors from {url}:\n{out}")
    return rate, p50, p99


def paced(url: str, seconds: int, key: str, rate: float) -> tuple[float, str, str]:
    """The point search near `rate` requests/s: the pause between requests is tuned on three
    short runs (16 connections, each waiting pause + reply time per request)."""
    period_ms = 16_000 / (rate * 1.05)  # wrk's timers run a little late
    pause = period_ms
    for _ in range(3):
        got, _, _ = wrk(url, min(3, seconds), key, pause)
        pause = max(0.0, pause - (16_000 / got - period_ms))  # take off the reply time
    return wrk(url, seconds, key, pause)


def uvicorn(python: Path, target: list[str], port: int, workers: int) -> list[str]:
    return [str(python), "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=float, default=800,
                        help="the paced point search's target, requests/s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-tipg", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fibersync_isp_bench"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("needs wrk (apt-get install wrk)")

    fresh_database(args.database_url)
    key = load(args.database_url, args.addresses)
    rows = max(1, min(10, args.addresses // COLUMNS))
    cols = 1000 // rows
    bbox = (f"{LON0 - STEP / 2},{LAT0 - STEP / 2},{LON0 + (cols - 0.5) * STEP},"
            f"{LAT0 + (rows - 0.5) * STEP}")
    centre = f"lon={LON0 + 50 * STEP}&lat={LAT0 + min(5, rows - 1) * STEP}&radius=30"
    env = {"DATABASE_URL": args.database_url, "FIBERSYNC_RATE_LIMIT_PER_SECOND": "0"}
    python = Path(sys.executable)
    results = []

    port = free_port()
    ours = serve(uvicorn(python, ["--factory", "api.app:app_from_environment"], port,
                         args.workers), env, port, "/healthz")
    base = f"http://127.0.0.1:{port}"
    try:
        point = f"{base}/isp/serviceable-addresses?{centre}"
        results.append(("FiberSync point + 30 m radius", *wrk(point, args.seconds, key)))
        results.append((f"  the same, paced near {args.rate:,.0f}/s",
                        *paced(point, args.seconds, key, args.rate)))
        results.append(("FiberSync bbox, 1,000 features", *wrk(
            f"{base}/isp/serviceable-addresses?bbox={bbox}&limit=1000", args.seconds, key)))
    finally:
        ours.terminate()

    port = free_port()
    bare = serve(uvicorn(python, ["--factory", "bare_bbox:make_app", "--app-dir", "bench"],
                         port, args.workers), env, port, f"/bbox?bbox={bbox}")
    try:
        results.append(("bare FastAPI + psycopg bbox", *wrk(
            f"http://127.0.0.1:{port}/bbox?bbox={bbox}&limit=1000", args.seconds)))
    finally:
        bare.terminate()

    if not args.skip_tipg and (TIPG / "bin" / "python").exists():
        port = free_port()
        tipg_env = {**env, "TIPG_DB_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_QUERY":
                    "10000", "TIPG_DB_TABLES": '["public.addresses"]'}
        tipg = serve(uvicorn(TIPG / "bin" / "python", ["tipg.main:app"], port, args.workers),
                     tipg_env, port, "/collections")
        try:
            results.append(("tipg bbox", *wrk(
                f"http://127.0.0.1:{port}/collections/public.addresses/items?bbox={bbox}"
                "&limit=1000", args.seconds)))
        finally:
            tipg.terminate()
    print(f"{args.addresses:,} addresses, wrk -c16 for {args.seconds} s, "
          f"{args.workers} uvicorn worker(s) each")
    for name, rate, p50, p99 in results:
        print(f"{name:34} {rate:8.1f} requests/s   p50 {p50:>8}   p99 {p99:>8}")


if __name__ == "__main__":
    main()
