"""Reading and repairing the outbox: its health for metrics, and parked events for operators."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class OutboxHealth:
    pending: int
    leased: int
    parked: int
    delivered: int
    oldest_pending_seconds: float  # 0 when nothing waits
    lag_p50_seconds: float | None  # created -> delivered, over the last 5 minutes
    lag_p95_seconds: float | None
    lag_p99_seconds: float | None


_HEALTH = text("""
SELECT
  count(*) FILTER (WHERE delivered_at IS NULL AND parked_at IS NULL) AS pending,
  count(*) FILTER (WHERE delivered_at IS NULL AND parked_at IS NULL
                   AND claimed_until > now()) AS leased,
  count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
  count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
  coalesce(extract(epoch FROM now() - min(created_at)
           FILTER (WHERE delivered_at IS NULL AND parked_at IS NULL)), 0) AS oldest,
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
    ORDER BY extract(epoch FROM delivered_at - created_at))
    FILTER (WHERE delivered_at > now() - interval '5 minutes') AS lag
FROM outbox
""")


def outbox_health(conn: Connection) -> OutboxHealth:
    row = conn.execute(_HEALTH).one()
    lag = row.lag or [None, None, None]
    return OutboxHealth(row.pending, row.leased, row.parked, row.delivered, float(row.oldest),
                        *lag)


def parked_events(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(text("""
        SELECT id, topic, key, attempts, parked_at, last_error FROM outbox
        WHERE parked_at IS NOT NULL ORDER BY id LIMIT :limit"""), {"limit": limit})
    return [dict(row._mapping) for row in rows]


def replay_parked(conn: Connection, ids: list[int] | None) -> int:
    """Parked events (these ids, or all) go back in the queue with fresh attempts."""
    return conn.execute(text("""
        UPDATE outbox SET parked_at = NULL, attempts = 0, available_at = now(),
                          claimed_by = NULL, claimed_until = NULL
        WHERE parked_at IS NOT NULL AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(:ids))
    """), {"ids": ids}).rowcount


def discard_parked(conn: Connection, ids: list[int] | None, who: str) -> int:
    """Parked events (these ids, or all) are given up on; they stay in the table, marked."""
    return conn.execute(text("""
        UPDATE outbox SET parked_at = NULL, delivered_at = now(),
                          last_error = 'discarded by ' || :who || ': ' || coalesce(last_error, '')
        WHERE parked_at IS NOT NULL AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(:ids))
    """), {"ids": ids, "who": who}).rowcount
