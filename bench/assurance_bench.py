"""Assurance benchmark: 1,000,000 addresses, 500,000 active services with contracts and
invoices (about 1% of them with a planted mismatch), written straight to the database; then
a full exception scan, every board metric for the last 30 days with its 8-week trend, and the
incremental work of single events (record + rescan of the service they touch), each timed.

    .venv/bin/python bench/assurance_bench.py --addresses 1000000 --services 500000
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_bench import fresh_database  # noqa: E402

from api.schemas.events import parse_event  # noqa: E402
from gis.database import sqlalchemy_url  # noqa: E402
from services.assurance import Rules, scan  # noqa: E402
from services.events import record_events  # noqa: E402
from services.metrics import Period, board_metrics  # noqa: E402

PRODUCTS = {"Fibre 100": "100/20", "Fibre 500": "500/100", "Fibre 1000": "1000/200"}
ISPS = "ARRAY['isp-a', 'isp-b', 'isp-c']"

LOAD = [
    """INSERT INTO addresses (feature_id, name, location, status, content_hash)
       SELECT n, 'House ' || n, ST_SetSRID(ST_MakePoint(0.1 + (n % 1000) * 0.0002,
                                                        52 + (n / 1000) * 0.0002), 4326),
              'connected', n
       FROM generate_series(1, :addresses) AS n""",
    # Every 100th service runs a slower profile than sold (speed_mismatch).
    f"""INSERT INTO services (address_feature_id, isp_id, status, subscriber, product,
                              speed_profile, ont_serial, activated_at, status_since,
                              last_event_time)
       SELECT n, ({ISPS})[1 + n % 3], 'active', 'SUB-' || n, 'Fibre 500',
              CASE WHEN n % 100 = 0 THEN '100/20' ELSE '500/100' END, 'ONT-' || n,
              now() - interval '60 days', now() - interval '60 days',
              now() - interval '60 days'
       FROM generate_series(1, :services) AS n""",
    # Every 100th + 1 service has no contract (active_without_contract).
    f"""INSERT INTO contracts (isp_id, contract_ref, address_feature_id, product, price_minor,
                               currency, status, signed_at, last_event_time)
       SELECT ({ISPS})[1 + n % 3], 'C-' || n, n, 'Fibre 500', 3000, 'EUR', 'active',
              now() - interval '70 days', now() - interval '70 days'
       FROM generate_series(1, :services) AS n WHERE n % 100 <> 1""",
    # Every 100th + 2 service was never invoiced (activation_not_invoiced).
    f"""INSERT INTO commercial_events (event_id, event_type, event_time, isp_id, contract_ref,
                                       amount_minor, currency, payload, outcome)
       SELECT 'inv-' || n, 'invoice.issued', now() - interval '10 days',
              ({ISPS})[1 + n % 3], 'C-' || n, 3000, 'EUR', '{{}}', 'applied'
       FROM generate_series(1, :services) AS n WHERE n % 100 <> 2""",
]


def load(engine, addresses: int, services: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in LOAD:
            conn.execute(text(statement), {"addresses": addresses, "services": services})
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("addresses", "services", "contracts", "commercial_events"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=500_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/"
                                                  "fibersync_assurance_bench")
    args = parser.parse_args()
    fresh_database(args.database_url)
    engine = create_engine(sqlalchemy_url(args.database_url),
                           connect_args={"options": "-c jit=off"})
    seconds = load(engine, args.addresses, args.services)
    print(f"loaded {args.addresses:,} addresses, {args.services:,} services, contracts and "
          f"invoices in {seconds:.1f} s")
    rules = Rules(PRODUCTS)

    with Session(engine) as session:
        started = time.perf_counter()
        counts = scan(session, rules, datetime.now(UTC))
        session.commit()
        full = time.perf_counter() - started
    print(f"full scan        {full:8.2f} s   {counts.found:,} exceptions found, "
          f"{counts.opened:,} opened")

    with Session(engine) as session:
        now = datetime.now(UTC)
        started = time.perf_counter()
        metrics = board_metrics(session, Period(now - timedelta(days=30), now),
                                {"Fibre 500": 3000})
        elapsed = time.perf_counter() - started
    shown = ", ".join(f"{m['key']}={m['value']:.4g}" for m in metrics
                      if m["value"] is not None)
    print(f"board metrics    {elapsed:8.2f} s   ({len(metrics)} metrics, each for the period "
          f"and 8 weeks: {shown})")

    timings = []
    for i in range(args.events):
        address = 1 + (i * 7919) % args.services  # spread over the table
        raw = {"eventId": f"bench-{i}", "eventType": "service.changed",
               "eventTime": datetime.now(UTC).isoformat(),
               "event": {"address": address, "isp": ["isp-a", "isp-b", "isp-c"][
                   (address % 3)], "speedProfile": "1000/200"}}
        with Session(engine) as session:
            started = time.perf_counter()
            event = parse_event(raw)
            record_events(session, [event])
            scan(session, rules, datetime.now(UTC), {(event.address, event.isp)})  # type: ignore[arg-type]
            session.commit()
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"one event        p50 {statistics.median(timings):6.1f} ms   "
          f"p95 {timings[int(len(timings) * 0.95) - 1]:6.1f} ms   ({args.events} events: "
          "stored, replayed, service written, outbox, billing check, exceptions rescanned, "
          "committed)")


if __name__ == "__main__":
    main()
