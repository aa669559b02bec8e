"""Import benchmark: a full import of N generated addresses (with their circuits) served by the
IQGeo simulator in its own process, a re-sync after 1% changed and 0.1% removed, and the same
data loaded by `ogr2ogr -f PostgreSQL` from GeoJSON files, in the same run: the addresses
alone, and the addresses and circuits (the two layers the import reads).

    .venv/bin/python bench/import_bench.py --addresses 1000000 [--rounds 6]

Prints features/s for each step and the peak memory of the largest import process (the
importer or one of its reader processes). `--rounds R` then times R more full imports and R
ogr2ogr loads of both layers, each into a fresh database, taking turns to go first.
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis.database import ensure_database, libpq_url  # noqa: E402
from sync.iqgeo import IQGeoClient, IQGeoSettings  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(url: str) -> None:
    name = make_url(url).database
    admin = libpq_url(make_url(url).set(database="postgres").render_as_string(False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
    ensure_database(url)
    subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": url}, capture_output=True)


def start_simulator(addresses: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "iqgeo-sim", "--addresses", str(addresses),
         "--port", str(port), "--shuffle", "--prerender"], cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # pre-rendering a million rows takes a while
        try:
            httpx.get(url + "/_sim/stats", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


def timed_sync(database_url: str, iqgeo_url: str, sessions: int) -> tuple[float, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "IQGEO_URL": iqgeo_url,
           "IQGEO_SESSIONS": str(sessions), "COLUMNS": "120"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "api.cli", "sync"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    return elapsed, done.stdout


def summary_line(output: str) -> str:
    wanted = ("inserted", "updated", "unchanged", "retired", "rejected", "linked")
    rows = [line.strip("│ ").replace("│", "=").replace(" ", "") for line in output.splitlines()
            if any(w in line for w in wanted)]
    return ", ".join(rows)


def write_geojson(iqgeo_url: str, feature_type: str, path: Path) -> int:
    """One of the simulator's layers as one GeoJSON file, streamed page by page."""
    count = 0
    with IQGeoClient(IQGeoSettings(url=iqgeo_url, page_size=5000)) as client, \
            path.open("wb") as out:
        out.write(b'{"type":"FeatureCollection","features":[\n')
        for page in client.iter_pages(feature_type):
            for feature in page:
                feature.pop("myw", None)
                feature.pop("bbox", None)
                out.write((b",\n" if count else b"") + orjson.dumps(feature))
                count += 1
        out.write(b"\n]}\n")
    return count


def timed_ogr2ogr(database_url: str, path: Path, table: str) -> float:
    url = make_url(database_url)
    pg = f"PG:host={url.host or '127.0.0.1'} port={url.port or 5432} " \
         f"user={url.username or 'postgres'} dbname={url.database}"
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", table,
                    "-lco", "GEOMETRY_NAME=location", "-lco", "SPATIAL_INDEX=GIST",
                    "-overwrite"], check=True, capture_output=True)
    return time.perf_counter() - started


def alternating_rounds(database_url: str, iqgeo_url: str, sessions: int, rounds: int,
                       addresses: Path, circuits: Path) -> None:
    """Full imports and ogr2ogr loads of both layers, each into a fresh database, taking
    turns to go first: a machine's speed can drift within the hour, so only figures taken
    side by side compare."""
    def fresh() -> None:
        fresh_database(database_url)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # the last load's dirty pages are not the next one's

    def import_once() -> float:
        fresh()
        return timed_sync(database_url, iqgeo_url, sessions)[0]

    def ogr2ogr_once() -> float:
        fresh()
        return timed_ogr2ogr(database_url, addresses, "ogr_addresses") + \
            timed_ogr2ogr(database_url, circuits, "ogr_circuits")

    ratios = []
    for number in range(rounds):
        if number % 2:
            ogr = ogr2ogr_once()
            full = import_once()
        else:
            full = import_once()
            ogr = ogr2ogr_once()
        ratios.append(ogr / full)
        print(f"round {number + 1}        full import {full:6.2f} s, ogr2ogr (both layers) "
              f"{ogr:6.2f} s: {ogr / full:.2f}x")
    ratios.sort()
    print(f"rounds           {min(ratios):.2f}x to {max(ratios):.2f}x, median "
          f"{ratios[len(ratios) // 2]:.2f}x (above 1 is faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1:5432/fibersync_bench")
    parser.add_argument("--skip-ogr2ogr", action="store_true")
    parser.add_argument("--rounds", type=int, default=0,
                        help="then this many full imports and ogr2ogr loads, taking turns")
    args = parser.parse_args()
    n = args.addresses
    circuits = n + (n + 9) // 10

    fresh_database(args.database_url)
    simulator, iqgeo_url = start_simulator(n)
    try:
        print(f"addresses: {n:,}  circuits: {circuits:,}  sessions: {args.sessions}")
        full, output = timed_sync(args.database_url, iqgeo_url, args.sessions)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"full import      {full:8.2f} s  {n / full:10,.0f} addresses/s  "
              f"{(n + circuits) / full:10,.0f} features/s (addresses + circuits)")
        print(f"                 {summary_line(output)}")
        print(f"                 peak memory of the largest import process: {peak_mb:,.0f} MB")

        revised = httpx.post(iqgeo_url + "/_sim/revise", timeout=600, json={
            "seed": 1, "change_fraction": 0.01, "remove_fraction": 0.001}).json()
        resync, output = timed_sync(args.database_url, iqgeo_url, args.sessions)
        print(f"re-sync          {resync:8.2f} s  {n / resync:10,.0f} addresses/s  "
              f"({revised['changed']:,} changed, {revised['removed']:,} removed in IQGeo; "
              f"{resync / full:.0%} of the full import)")
        print(f"                 {summary_line(output)}")

        if args.skip_ogr2ogr or not shutil.which("ogr2ogr"):
            print("ogr2ogr          skipped")
            return
        with tempfile.TemporaryDirectory() as folder:
            addresses, circuits = Path(folder) / "addresses.json", Path(folder) / "circuits.json"
            written = write_geojson(iqgeo_url, "address", addresses)
            written_circuits = write_geojson(iqgeo_url, "ftth_circuit", circuits)
            ogr = timed_ogr2ogr(args.database_url, addresses, "ogr_addresses")
            ogr_circuits = timed_ogr2ogr(args.database_url, circuits, "ogr_circuits")
            both = ogr + ogr_circuits
            print(f"ogr2ogr          {ogr:8.2f} s  {written / ogr:10,.0f} addresses/s  "
                  f"(addresses alone, from a {written:,}-feature GeoJSON file; no paging, "
                  "validation or upsert)")
            print(f"                 {both:8.2f} s  {(written + written_circuits) / both:10,.0f}"
                  f" features/s (addresses, then the {written_circuits:,} circuits)")
            print(f"ratio            full import / ogr2ogr: {ogr / full:.2f}x against the "
                  f"addresses alone, {both / full:.2f}x against both layers (above 1 is "
                  "faster)")
            if args.rounds:
                alternating_rounds(args.database_url, iqgeo_url, args.sessions, args.rounds,
                                   addresses, circuits)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


if __name__ == "__main__":
    main()
