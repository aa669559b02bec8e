"""Commercial events from the BSS or an ISP: contracts signed, changed and ended, invoices,
credits, refunds, payments and disputes. Each is stored once by event id with its outcome;
contracts are applied in event-time order within a batch, and a change older than the
contract's last one is refused as stale.

Contracts are what `billing.start` and `billing.stop` are computed from (`emit_billing`).
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.models import Address, CommercialEvent, Contract
from services.billing import Promotion, Terms, early_termination_fee, final_period, first_period

CONTRACT_TYPES = ("contract.signed", "contract.changed", "contract.ended")
MONEY_TYPES = ("invoice.issued", "credit.issued", "refund.issued", "payment.received")
DISPUTE_TYPES = ("dispute.opened", "dispute.closed")
COMMERCIAL_TYPES = CONTRACT_TYPES + MONEY_TYPES + DISPUTE_TYPES
# Contract fields an event may set, with the column each lands in.
TERMS_FIELDS = ("product", "price_minor", "currency", "anchor_day", "promotion_price_minor",
                "promotion_start", "promotion_end", "term_months",
                "early_termination_fee_minor", "fee_per_remaining_month_minor")


@dataclass
class IncomingCommercialEvent:
    payload: Any
    event_id: str | None = None
    event_type: str | None = None
    event_time: datetime | None = None
    isp: str | None = None
    contract_ref: str | None = None
    address: int | None = None  # contract.signed only
    amount_minor: int | None = None
    currency: str | None = None
    terms: dict[str, Any] = field(default_factory=dict)  # TERMS_FIELDS given by the event
    attributes: dict[str, Any] = field(default_factory=dict)  # invoice ref, period, reason
    problem: str | None = None


@dataclass
class CommercialResult:
    event_id: str | None
    status: str  # accepted | duplicate | rejected
    reason: str | None = None


def _problem(event: IncomingCommercialEvent, known: set[int]) -> str | None:
    if event.problem:
        return event.problem
    if event.event_type == "contract.signed":
        missing = [f for f in ("price_minor", "currency") if f not in event.terms]
        if event.address is None or missing:
            return "contract.signed needs event.address and a price (amount and currency)"
        if event.address not in known:
            return f"address {event.address} is unknown"
    if event.event_type in MONEY_TYPES and event.amount_minor is None:
        return f"{event.event_type} needs an amount"
    return None


def record_commercial_events(session: Session, events: list[IncomingCommercialEvent]
                             ) -> list[CommercialResult]:
    """Stores and applies a batch; the caller commits."""
    if not events:
        return []
    ids = {e.address for e in events if e.address is not None}
    known = set(session.scalars(select(Address.feature_id).where(
        Address.feature_id.in_(ids), Address.retired.is_(False)))) if ids else set()
    problems = [_problem(e, known) for e in events]
    inserted = _store(session, events, problems)
    verdicts: dict[str, str | None] = {}
    touched: set[tuple[int, str]] = set()
    valid = [e for e, p in zip(events, problems, strict=True)
             if p is None and e.event_id in inserted]
    for event in sorted(valid, key=lambda e: e.event_time):  # type: ignore[arg-type,return-value]
        reason, key = _apply(session, event)
        verdicts[event.event_id] = reason  # type: ignore[index]
        if key:
            touched.add(key)
    _write_outcomes(session, verdicts, inserted)
    emit_billing(session, touched)
    return _results(events, problems, inserted, verdicts)


def _store(session: Session, events: list[IncomingCommercialEvent],
           problems: list[str | None]) -> dict[str, int]:
    rows = [{"event_id": e.event_id, "event_type": e.event_type, "event_time": e.event_time,
             "isp_id": e.isp, "contract_ref": e.contract_ref, "amount_minor": e.amount_minor,
             "currency": e.currency, "attributes": {**e.attributes, **_jsonable(e.terms)},
             "payload": e.payload, "outcome": "invalid" if p else "applied", "reason": p}
            for e, p in zip(events, problems, strict=True)]
    statement = insert(CommercialEvent).values(rows).on_conflict_do_nothing(
        index_elements=["event_id"]).returning(CommercialEvent.id, CommercialEvent.event_id)
    return {event_id: row_id for row_id, event_id in session.execute(statement)
            if event_id is not None}


def _jsonable(terms: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in terms.items()}


def _contract(session: Session, isp: str | None, ref: str | None) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.isp_id == isp,
                                                 Contract.contract_ref == ref)
                          .with_for_update())


def _apply(session: Session, event: IncomingCommercialEvent
           ) -> tuple[str | None, tuple[int, str] | None]:
    """Applies one valid event: the refusal reason (None: applied) and the service whose
    billing it may start or stop."""
    contract = _contract(session, event.isp, event.contract_ref)
    when = event.event_time
    assert when is not None and event.isp is not None
    if event.event_type == "contract.signed":
        if contract is not None:
            return f"contract {event.contract_ref} is already signed", None
        contract = Contract(isp_id=event.isp, contract_ref=event.contract_ref,
                            address_feature_id=event.address, status="active", signed_at=when,
                            last_event_time=when, **event.terms)
        session.add(contract)
        session.flush()
        return None, (contract.address_feature_id, contract.isp_id)
    if contract is None:
        return f"contract {event.contract_ref} is unknown", None
    if event.event_type not in CONTRACT_TYPES:
        return None, None  # money and disputes are kept for assurance; nothing to change
    if when < contract.last_event_time:
        return (f"stale: the contract changed at {contract.last_event_time.isoformat()}, "
                "after this event"), None
    if event.event_type == "contract.changed":
        for name, value in event.terms.items():
            setattr(contract, name, value)
    else:
        contract.status, contract.ended_at = "ended", when
    contract.last_event_time = when
    session.flush()
    return None, (contract.address_feature_id, contract.isp_id)


def _write_outcomes(session: Session, verdicts: dict[str, str | None],
                    inserted: dict[str, int]) -> None:
    refused = {inserted[eid]: reason for eid, reason in verdicts.items() if reason}
    if refused:
        session.execute(text("""
            UPDATE commercial_events e SET outcome = 'rejected', reason = v.reason
            FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason)
            WHERE e.id = v.id"""), {"ids": list(refused), "reasons": list(refused.values())})


def _results(events: list[IncomingCommercialEvent], problems: list[str | None],
             inserted: dict[str, int], verdicts: dict[str, str | None]
             ) -> list[CommercialResult]:
    results, seen = [], set()
    for event, problem in zip(events, problems, strict=True):
        if event.event_id is not None and (event.event_id not in inserted
                                           or event.event_id in seen):
            results.append(CommercialResult(event.event_id, "duplicate"))
        elif problem is not None:
            results.append(CommercialResult(event.event_id, "rejected", problem))
        else:
            reason = verdicts.get(event.event_id)  # type: ignore[arg-type]
            results.append(CommercialResult(event.event_id,
                                            "rejected" if reason else "accepted", reason))
        seen.add(event.event_id)
    return results


# -- billing triggers ----------------------------------------------------------------------

_BILLABLE = """
SELECT DISTINCT ON (c.address_feature_id, c.isp_id) c.id, s.status, s.activated_at,
       s.status_since
FROM contracts c JOIN services s USING (address_feature_id, isp_id)
WHERE (c.address_feature_id, c.isp_id) IN (
        SELECT * FROM unnest(CAST(:addresses AS bigint[]), CAST(:isps AS text[])))
  AND c.status = 'active' AND s.activated_at IS NOT NULL
ORDER BY c.address_feature_id, c.isp_id, c.signed_at DESC
"""


def terms_of(contract: Contract) -> Terms:
    promotion = None
    if contract.promotion_price_minor is not None and contract.promotion_start \
            and contract.promotion_end:
        promotion = Promotion(contract.promotion_price_minor, contract.promotion_start,
                              contract.promotion_end)
    return Terms(contract.price_minor, contract.currency, contract.anchor_day, promotion,
                 contract.term_months, contract.early_termination_fee_minor,
                 contract.fee_per_remaining_month_minor)


def emit_billing(session: Session, keys: set[tuple[int, str]]) -> None:
    """`billing.start` once per activation and `billing.stop` once per deactivation of a
    service that has an active contract (whichever of the two arrives last), through the
    outbox, so webhooks carry them to the BSS."""
    if not keys:
        return
    ordered = sorted(keys)
    rows = session.execute(text(_BILLABLE), {"addresses": [k[0] for k in ordered],
                                             "isps": [k[1] for k in ordered]}).all()
    for row in rows:
        contract = session.get_one(Contract, row.id)
        if contract.billing_started_for != row.activated_at:
            _outbox(session, "billing.start", contract, _start_payload(contract, row))
            contract.billing_started_for, contract.billing_stopped_for = row.activated_at, None
        if row.status == "ceased" and contract.billing_stopped_for != row.status_since:
            _outbox(session, "billing.stop", contract, _stop_payload(contract, row))
            contract.billing_stopped_for = row.status_since
    session.flush()


def _start_payload(contract: Contract, row: Any) -> dict[str, Any]:
    return {"activated_at": row.activated_at.isoformat(),
            "first_period": first_period(terms_of(contract),
                                         row.activated_at.date()).as_dict()}


def _stop_payload(contract: Contract, row: Any) -> dict[str, Any]:
    terms = terms_of(contract)
    activated, deactivated = row.activated_at.date(), row.status_since.date()
    return {"activated_at": row.activated_at.isoformat(),
            "deactivated_at": row.status_since.isoformat(),
            "final_period": final_period(terms, activated, deactivated).as_dict(),
            "early_termination_fee_minor": early_termination_fee(terms, activated,
                                                                 deactivated),
            "currency": terms.currency}


def _outbox(session: Session, topic: str, contract: Contract, body: dict[str, Any]) -> None:
    payload = {"feature_id": contract.address_feature_id, "isp": contract.isp_id,
               "contract": contract.contract_ref, "product": contract.product, **body}
    session.execute(text("INSERT INTO outbox (topic, key, payload) "
                         "VALUES (:topic, :key, CAST(:payload AS jsonb))"),
                    {"topic": topic, "key": f"address:{contract.address_feature_id}",
                     "payload": json.dumps(payload)})
