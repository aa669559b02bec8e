"""Service events from the BSS / NMS (`POST /events`): one event or a JSON array of them."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.routers.assurance import rules_from
from api.schemas.commercial import EXAMPLE as CONTRACT_EXAMPLE
from api.schemas.commercial import parse_commercial_event
from api.schemas.events import EXAMPLE, parse_event
from gis.errors import InvalidInput
from gis.status import Role
from services.contracts import COMMERCIAL_TYPES
from services.intake import record_batch

router = APIRouter(tags=["events"])
Reporter = Annotated[Principal, Depends(require_roles(Role.bss))]
MAX_EVENTS = 5000

Events = Annotated[dict[str, Any] | list[Any],
                   Body(examples=[EXAMPLE, [EXAMPLE], CONTRACT_EXAMPLE])]


def _is_commercial(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("eventType") in COMMERCIAL_TYPES


@router.post("/events")
def post_events(request: Request, body: Events, session: SessionDep,
                _: Reporter) -> dict[str, Any]:
    """Stores and applies service events (TMF688 envelope) and commercial events
    (`contract.signed|changed|ended`, `invoice.issued`, `credit.issued`, `refund.issued`,
    `payment.received`, `dispute.opened|closed`). Each event is `accepted`, a `duplicate`
    (its eventId was seen before: applied once) or `rejected` with the reason (malformed,
    unknown address or contract, impossible transition, stale); one bad event fails only
    itself. Events apply by their eventTime, whatever order they arrive in."""
    raw_events = body if isinstance(body, list) else [body]
    if len(raw_events) > MAX_EVENTS:
        raise InvalidInput(f"a batch holds at most {MAX_EVENTS} events; "
                           f"this one has {len(raw_events)}")
    commercial = [i for i, raw in enumerate(raw_events) if _is_commercial(raw)]
    service = sorted(set(range(len(raw_events))) - set(commercial))
    service_results, commercial_results = record_batch(
        session, [parse_event(raw_events[i]) for i in service],
        [parse_commercial_event(raw_events[i]) for i in commercial],
        rules_from(request.app.state.settings), datetime.now(UTC))
    by_position: dict[int, Any] = dict(zip(service, service_results, strict=True))
    by_position.update(zip(commercial, commercial_results, strict=True))
    results = [by_position[i] for i in range(len(raw_events))]
    counts = {status: sum(r.status == status for r in results)
              for status in ("accepted", "duplicate", "rejected")}
    return {**counts, "results": [{"eventId": r.event_id, "status": r.status,
                                   "reason": r.reason} for r in results]}
