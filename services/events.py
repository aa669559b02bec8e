"""Service events from the BSS / NMS: stored once by event id, applied in event-time order.

Every event is kept (`service_events`), including those refused, with the reason. A service's
current state is the replay of its events by their own timestamps, so an event that arrives
late lands where it belongs and the events after it are re-judged.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.models import Address, ServiceEvent
from services.contracts import emit_billing
from services.lifecycle import EVENT_TYPES, Change, ServiceState, replay

ServiceKey = tuple[int, str]


@dataclass
class IncomingEvent:
    """One event as parsed from the wire; `problem` says why it is malformed, if it is."""

    payload: Any
    event_id: str | None = None
    event_type: str | None = None
    event_time: datetime | None = None
    address: int | None = None
    isp: str | None = None
    attributes: dict[str, str | None] = field(default_factory=dict)
    problem: str | None = None


@dataclass
class EventResult:
    event_id: str | None
    status: str  # accepted | duplicate | rejected
    reason: str | None = None


def _problem(event: IncomingEvent, known: dict[int, bool]) -> str | None:
    if event.problem:
        return event.problem
    if event.event_type not in EVENT_TYPES:
        return f"unknown event type {event.event_type!r}; one of {', '.join(EVENT_TYPES)}"
    if event.address is None:
        return "the event names no address"
    if event.address not in known:
        return f"address {event.address} is unknown"
    if known[event.address]:
        return f"address {event.address} is retired"
    return None


def _known_addresses(session: Session, events: list[IncomingEvent]) -> dict[int, bool]:
    """Feature id -> retired, for the addresses the events name."""
    ids = {e.address for e in events if e.address is not None}
    if not ids:
        return {}
    rows = session.execute(select(Address.feature_id, Address.retired).where(
        Address.feature_id.in_(ids)))
    return {fid: retired for fid, retired in rows}


def _store(session: Session, events: list[IncomingEvent],
           problems: list[str | None]) -> dict[str, int]:
    """Inserts every event not seen before (one statement); returns event id -> row id of
    those inserted. Events without an id are stored but can never be matched again."""
    rows = [{"event_id": e.event_id, "event_type": e.event_type, "event_time": e.event_time,
             "address_feature_id": e.address if p is None else None, "isp_id": e.isp,
             "payload": e.payload, "attributes": e.attributes,
             "outcome": "invalid" if p else "applied", "reason": p}
            for e, p in zip(events, problems, strict=True)]
    statement = insert(ServiceEvent).values(rows).on_conflict_do_nothing(
        index_elements=["event_id"]).returning(ServiceEvent.id, ServiceEvent.event_id)
    return {event_id: row_id for row_id, event_id in session.execute(statement)
            if event_id is not None}


def record_events(session: Session, events: list[IncomingEvent]) -> list[EventResult]:
    """Stores and applies a batch; each event is accepted, a duplicate, or rejected with the
    reason, independently of the others. The caller commits."""
    if not events:
        return []
    known = _known_addresses(session, events)
    problems = [_problem(e, known) for e in events]
    inserted = _store(session, events, problems)
    touched = {(e.address, e.isp) for e, p in zip(events, problems, strict=True)
               if p is None and e.event_id in inserted}
    verdicts = _apply(session, touched)  # type: ignore[arg-type]
    results, seen = [], set()
    for event, problem in zip(events, problems, strict=True):
        if event.event_id is not None and (event.event_id not in inserted
                                           or event.event_id in seen):
            results.append(EventResult(event.event_id, "duplicate"))
        elif problem is not None:
            results.append(EventResult(event.event_id, "rejected", problem))
        else:
            reason = verdicts.get(inserted[event.event_id])  # type: ignore[index]
            results.append(EventResult(event.event_id, "rejected" if reason else "accepted",
                                       reason))
        seen.add(event.event_id)
    return results


_HISTORY = """
SELECT id, address_feature_id, isp_id, event_type, event_time,
       attributes ->> 'subscriber' AS subscriber, attributes ->> 'product' AS product,
       attributes ->> 'speed_profile' AS speed_profile,
       attributes ->> 'ont_serial' AS ont_serial
FROM service_events
WHERE outcome <> 'invalid' AND (address_feature_id, isp_id) IN (
      SELECT * FROM unnest(CAST(:addresses AS bigint[]), CAST(:isps AS text[])))
"""


def _apply(session: Session, keys: set[ServiceKey]) -> dict[int, str | None]:
    """Replays the services the batch touched and writes their states, the events' outcomes
    and one outbox event per changed service. Returns row id -> reason for refused events."""
    if not keys:
        return {}
    ordered = sorted(keys)
    history: dict[ServiceKey, list[tuple[int, Change]]] = defaultdict(list)
    for row in session.execute(text(_HISTORY), {"addresses": [k[0] for k in ordered],
                                                "isps": [k[1] for k in ordered]}):
        history[(row.address_feature_id, row.isp_id)].append((row.id, Change(
            row.event_type, row.event_time, row.subscriber, row.product, row.speed_profile,
            row.ont_serial)))
    states: dict[ServiceKey, ServiceState | None] = {}
    verdicts: dict[int, str | None] = {}
    for key, changes in history.items():
        states[key], outcomes = replay(changes)
        verdicts.update(outcomes)
    _write_outcomes(session, verdicts)
    _write_states(session, states)
    emit_billing(session, keys)
    return verdicts


def _write_outcomes(session: Session, verdicts: dict[int, str | None]) -> None:
    session.execute(text("""
        UPDATE service_events e
        SET outcome = CASE WHEN v.reason IS NULL THEN 'applied' ELSE 'rejected' END,
            reason = v.reason
        FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason)
        WHERE e.id = v.id AND e.reason IS DISTINCT FROM v.reason
    """), {"ids": list(verdicts), "reasons": list(verdicts.values())})


_UPSERT = """
WITH incoming AS (
  SELECT * FROM unnest(
    CAST(:addresses AS bigint[]), CAST(:isps AS text[]), CAST(:statuses AS text[]),
    CAST(:subscribers AS text[]), CAST(:products AS text[]), CAST(:speeds AS text[]),
    CAST(:onts AS text[]), CAST(:activated AS timestamptz[]), CAST(:since AS timestamptz[]),
    CAST(:last AS timestamptz[]))
  AS t(address_feature_id, isp_id, status, subscriber, product, speed_profile, ont_serial,
       activated_at, status_since, last_event_time)
), upserted AS (
  INSERT INTO services AS s (address_feature_id, isp_id, status, subscriber, product,
                             speed_profile, ont_serial, activated_at, status_since,
                             last_event_time)
  SELECT * FROM incoming
  ON CONFLICT (address_feature_id, isp_id) DO UPDATE SET
    status = excluded.status, subscriber = excluded.subscriber, product = excluded.product,
    speed_profile = excluded.speed_profile, ont_serial = excluded.ont_serial,
    activated_at = excluded.activated_at, status_since = excluded.status_since,
    last_event_time = excluded.last_event_time, updated_at = now()
  WHERE (s.status, s.subscriber, s.product, s.speed_profile, s.ont_serial, s.activated_at,
         s.status_since) IS DISTINCT FROM
        (excluded.status, excluded.subscriber, excluded.product, excluded.speed_profile,
         excluded.ont_serial, excluded.activated_at, excluded.status_since)
  RETURNING s.*
)
-- Each change to a service is announced, keyed by its address: the write-back and webhooks
-- follow from the outbox, in order per address.
INSERT INTO outbox (topic, key, payload)
SELECT 'service.changed', 'address:' || address_feature_id,
       jsonb_build_object('feature_id', address_feature_id, 'isp', isp_id, 'status', status,
                          'subscriber', subscriber, 'product', product,
                          'speed_profile', speed_profile, 'ont_serial', ont_serial,
                          'activated_at', activated_at, 'status_since', status_since)
FROM upserted ORDER BY address_feature_id, isp_id
"""


def _write_states(session: Session, states: dict[ServiceKey, ServiceState | None]) -> None:
    live = {k: s for k, s in states.items() if s is not None}
    gone = [k for k, s in states.items() if s is None]
    if gone:  # every event of the service was refused on replay
        session.execute(text("DELETE FROM services WHERE (address_feature_id, isp_id) IN "
                             "(SELECT * FROM unnest(CAST(:a AS bigint[]), CAST(:i AS text[])))"),
                        {"a": [k[0] for k in gone], "i": [k[1] for k in gone]})
    if not live:
        return
    keys, values = list(live), list(live.values())
    session.execute(text(_UPSERT), {
        "addresses": [k[0] for k in keys], "isps": [k[1] for k in keys],
        "statuses": [s.status.value for s in values],
        "subscribers": [s.subscriber for s in values], "products": [s.product for s in values],
        "speeds": [s.speed_profile for s in values], "onts": [s.ont_serial for s in values],
        "activated": [s.activated_at for s in values],
        "since": [s.status_since for s in values],
        "last": [s.last_event_time for s in values]})


def service_history(session: Session, feature_id: int) -> list[dict[str, Any]]:
    """Every event received for an address, oldest first by event time, with its outcome."""
    rows = session.execute(select(
        ServiceEvent.event_id, ServiceEvent.event_type, ServiceEvent.event_time,
        ServiceEvent.isp_id, ServiceEvent.outcome, ServiceEvent.reason,
        ServiceEvent.received_at).where(ServiceEvent.address_feature_id == feature_id)
        .order_by(ServiceEvent.event_time, ServiceEvent.id))
    return [dict(row._mapping) for row in rows]

