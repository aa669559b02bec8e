"""One batch from `POST /events`: service events and commercial events recorded together,
then the assurance exceptions of every service they touched recomputed in the same
transaction."""

from datetime import datetime

from sqlalchemy.orm import Session

from services.assurance import Rules, keys_of_contracts, scan
from services.contracts import (
    CommercialResult,
    IncomingCommercialEvent,
    record_commercial_events,
)
from services.events import EventResult, IncomingEvent, record_events


def record_batch(session: Session, service_events: list[IncomingEvent],
                 commercial_events: list[IncomingCommercialEvent], rules: Rules,
                 now: datetime) -> tuple[list[EventResult], list[CommercialResult]]:
    """The results of each kind, in the order given; the caller commits."""
    service_results = record_events(session, service_events)
    commercial_results = record_commercial_events(session, commercial_events)
    touched = {(e.address, e.isp) for e in service_events if e.address and e.isp}
    touched |= keys_of_contracts(session, {(e.isp, e.contract_ref) for e in commercial_events
                                           if e.isp and e.contract_ref})
    scan(session, rules, now, touched)
    return service_results, commercial_results
