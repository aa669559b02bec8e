"""Write-back benchmark: service events in, IQGeo addresses updated by worker processes.

    .venv/bin/python bench/writeback_bench.py --addresses 100000 --rate 1500 --seconds 30

1. Steady load: events for distinct addresses are accepted at `--rate` per second for
   `--seconds` while `--workers` worker processes write back to the simulator (its own
   process); prints the updates/s IQGeo received and the lag from event accepted to IQGeo
   updated (outbox created_at -> delivered_at, set when IQGeo has answered): p50/p95/p99.
2. Drain: a backlog of `--backlog` events is queued first, then the workers start; prints
   how fast they empty it (the write-back's capacity).
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import fresh_database, start_simulator  # noqa: E402

from gis.database import sqlalchemy_url  # noqa: E402
from services.events import IncomingEvent, record_events  # noqa: E402

FIBERSYNC = [sys.executable, "-m", "api.cli"]


def load_addresses(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO addresses (feature_id, name, location, status, content_hash)
            SELECT n, 'House ' || n, ST_SetSRID(ST_MakePoint(0.1, 52.0), 4326), 'connected', n
            FROM generate_series(1, :count) AS n"""), {"count": count})


def events_for(addresses: range) -> list[IncomingEvent]:
    """An activation per address (each address once, so each event is one IQGeo update)."""
    now = datetime.now(UTC)
    return [IncomingEvent(payload={}, event_id=f"act-{a}", event_type="activated",
                          event_time=now, address=a, isp="isp-1",
                          attributes={"subscriber": f"S{a}", "product": "Fibre",
                                      "speed_profile": "500/100", "ont_serial": None})
            for a in addresses]


def accept(engine: Engine, events: list[IncomingEvent]) -> None:
    with Session(engine) as session:
        record_events(session, events)
        session.commit()


def start_workers(count: int, database_url: str, iqgeo_url: str) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": database_url, "IQGEO_URL": iqgeo_url,
           "FIBERSYNC_WORKER_POLL_SECONDS": "0.2"}
    return [subprocess.Popen([*FIBERSYNC, "worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def wait_drained(engine: Engine, timeout: float = 600) -> float:
    started = time.perf_counter()
    with engine.connect() as conn:
        while time.perf_counter() - started < timeout:
            left = conn.execute(text("SELECT count(*) FROM outbox WHERE delivered_at IS NULL "
                                     "AND parked_at IS NULL")).scalar()
            if not left:
                return time.perf_counter() - started
            time.sleep(0.05)
    raise RuntimeError("the outbox did not drain")


def writes_so_far(iqgeo_url: str) -> int:
    return int(httpx.get(f"{iqgeo_url}/_sim/writes", params={"since": 10**12}).json()["total"])


def steady(engine: Engine, iqgeo_url: str, rate: int, seconds: int, first: int) -> None:
    tick, per_tick = 0.1, max(1, rate // 10)
    before, started = writes_so_far(iqgeo_url), time.perf_counter()
    since = datetime.now(UTC)
    next_address = first
    for index in range(int(seconds / tick)):
        due = started + index * tick
        time.sleep(max(0.0, due - time.perf_counter()))
        accept(engine, events_for(range(next_address, next_address + per_tick)))
        next_address += per_tick
    feeding = time.perf_counter() - started
    wait_drained(engine)
    elapsed = time.perf_counter() - started
    updates = writes_so_far(iqgeo_url) - before
    with engine.connect() as conn:
        p50, p95, p99 = conn.execute(text("""
            SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
                     ORDER BY extract(epoch FROM delivered_at - created_at))
            FROM outbox WHERE created_at >= :since"""), {"since": since}).scalar()
    print(f"steady load: {next_address - first:,} events at {rate:,}/s offered for "
          f"{feeding:.1f} s; IQGeo received {updates:,} address updates in {elapsed:.1f} s "
          f"({updates / elapsed:,.0f}/s); lag accepted -> IQGeo updated: p50 {p50:.2f} s, "
          f"p95 {p95:.2f} s, p99 {p99:.2f} s")


def drain(engine: Engine, database_url: str, iqgeo_url: str, backlog: int,
          workers: int) -> None:
    for start in range(1, backlog + 1, 5000):
        accept(engine, events_for(range(start, min(start + 5000, backlog + 1))))
    before = writes_so_far(iqgeo_url)
    processes = start_workers(workers, database_url, iqgeo_url)
    try:
        elapsed = wait_drained(engine)
    finally:
        stop(processes)
    updates = writes_so_far(iqgeo_url) - before
    print(f"drain: {backlog:,} queued events, {updates:,} address updates in {elapsed:.1f} s "
          f"with {workers} worker(s): {updates / elapsed:,.0f} updates/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1500, help="events/s offered")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fibersync_writeback_bench"))
    args = parser.parse_args()
    if args.backlog + args.rate * args.seconds > args.addresses:
        parser.error("--addresses must cover --backlog + --rate x --seconds")

    fresh_database(args.database_url)
    engine = create_engine(sqlalchemy_url(args.database_url))
    load_addresses(engine, args.addresses)
    simulator, iqgeo_url = start_simulator(args.addresses)
    try:
        drain(engine, args.database_url, iqgeo_url, args.backlog, args.workers)
        processes = start_workers(args.workers, args.database_url, iqgeo_url)
        try:
            steady(engine, iqgeo_url, args.rate, args.seconds, args.backlog + 1)
        finally:
            stop(processes)
    finally:
        simulator.terminate()
        engine.dispose()


if __name__ == "__main__":
    main()
