"""Service events from the BSS / NMS (`POST /events`): one event or a JSON array of them."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.schemas.events import EXAMPLE, parse_event
from gis.errors import InvalidInput
from gis.status import Role
from services.events import record_events

router = APIRouter(tags=["events"])
Reporter = Annotated[Principal, Depends(require_roles(Role.bss))]
MAX_EVENTS = 5000

Events = Annotated[dict[str, Any] | list[Any], Body(examples=[EXAMPLE, [EXAMPLE]])]


@router.post("/events")
def post_events(body: Events, session: SessionDep, _: Reporter) -> dict[str, Any]:
    """Stores and applies service events (TMF688 envelope). Each event is `accepted`,
    a `duplicate` (its eventId was seen before: applied once) or `rejected` with the reason
    (malformed, unknown address, impossible transition); one bad event fails only itself.
    Events apply by their eventTime, whatever order they arrive in."""
    raw_events = body if isinstance(body, list) else [body]
    if len(raw_events) > MAX_EVENTS:
        raise InvalidInput(f"a batch holds at most {MAX_EVENTS} events; "
                           f"this one has {len(raw_events)}")
    results = record_events(session, [parse_event(raw) for raw in raw_events])
    counts = {status: sum(r.status == status for r in results)
              for status in ("accepted", "duplicate", "rejected")}
    return {**counts, "results": [{"eventId": r.event_id, "status": r.status,
                                   "reason": r.reason} for r in results]}
