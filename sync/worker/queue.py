"""The outbox as a queue: claim by key with a lease, then deliver, reschedule or park.

A key's events are claimed together and only when none of them is leased to another worker,
so there is never more than one delivery in flight per address and never one out of order.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    topic: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


_CLAIM = text("""
WITH heads AS (
  -- The oldest waiting event of each key nobody holds, oldest keys first.
  SELECT o.id, o.key FROM outbox o
  WHERE o.delivered_at IS NULL AND o.parked_at IS NULL AND o.available_at <= now()
    AND (o.claimed_until IS NULL OR o.claimed_until < now())
    AND o.id = (SELECT min(p.id) FROM outbox p WHERE p.key = o.key
                AND p.delivered_at IS NULL AND p.parked_at IS NULL)
  ORDER BY o.id LIMIT :keys
  FOR UPDATE SKIP LOCKED
), members AS (
  -- With all the key's later events: they go out together, as one current state.
  SELECT f.id FROM heads h CROSS JOIN LATERAL (
    SELECT p.id FROM outbox p WHERE p.key = h.key AND p.delivered_at IS NULL
      AND p.parked_at IS NULL ORDER BY p.id LIMIT 1000) f
)
UPDATE outbox o
SET claimed_by = :worker, claimed_until = now() + make_interval(secs => :lease),
    attempts = o.attempts + 1
WHERE o.id IN (SELECT id FROM members)
RETURNING o.id, o.key, o.topic, o.payload, o.attempts, o.created_at
""")


def claim(conn: Connection, worker: str, keys: int, lease_seconds: float) -> list[Claimed]:
    """Leases the oldest waiting keys with all their pending events (commits)."""
    with conn.begin():
        # The right plan walks the pending index in id order and stops after `keys` heads.
        # Estimates of the "oldest of its key" test are poor (and absent on a new table),
        # which can tip the planner into scanning and sorting every waiting event.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_sort = off"))
        rows = conn.execute(_CLAIM, {"worker": worker, "keys": keys, "lease": lease_seconds})
        claimed = [Claimed(**row._mapping) for row in rows]
    return sorted(claimed, key=lambda c: c.id)


def mark_delivered(conn: Connection, worker: str, ids: list[int]) -> int:
    if not ids:
        return 0
    with conn.begin():
        return conn.execute(text("""
            UPDATE outbox SET delivered_at = now(), claimed_by = NULL, claimed_until = NULL,
                              last_error = NULL
            WHERE id = ANY(:ids) AND claimed_by = :worker AND delivered_at IS NULL
        """), {"ids": ids, "worker": worker}).rowcount


def reschedule(conn: Connection, worker: str, ids: list[int], delay: float,
               error: str) -> None:
    """Gives the events back, to be claimed again after `delay` seconds."""
    with conn.begin():
        conn.execute(text("""
            UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, last_error = :error,
                              available_at = now() + make_interval(secs => :delay)
            WHERE id = ANY(:ids) AND claimed_by = :worker
        """), {"ids": ids, "worker": worker, "delay": delay, "error": error[:2000]})


def park(conn: Connection, worker: str, ids: list[int], error: str) -> None:
    """Sets the events aside for an operator (`fibersync outbox`), with the reason."""
    with conn.begin():
        conn.execute(text("""
            UPDATE outbox SET parked_at = now(), claimed_by = NULL, claimed_until = NULL,
                              last_error = :error
            WHERE id = ANY(:ids) AND claimed_by = :worker
        """), {"ids": ids, "worker": worker, "error": error[:2000]})
