"""The service state machine per ISP at an address: ordered → active ⇄ suspended → ceased."""

from dataclasses import dataclass, replace
from datetime import datetime

from gis.status import ServiceStatus

ACTIVE, ORDERED, SUSPENDED, CEASED = (ServiceStatus.active, ServiceStatus.ordered,
                                      ServiceStatus.suspended, ServiceStatus.ceased)

# event type -> (statuses it may follow (None: no service yet), status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[ServiceStatus | None], ServiceStatus | None]] = {
    "ordered": (frozenset({None, CEASED}), ORDERED),
    # The network may report an activation the BSS never ordered (a migrated subscriber).
    "activated": (frozenset({None, ORDERED}), ACTIVE),
    "changed": (frozenset({ORDERED, ACTIVE, SUSPENDED}), None),  # None: status unchanged
    "suspended": (frozenset({ACTIVE}), SUSPENDED),
    "resumed": (frozenset({SUSPENDED}), ACTIVE),
    "deactivated": (frozenset({ORDERED, ACTIVE, SUSPENDED}), CEASED),
}
EVENT_TYPES = tuple(TRANSITIONS)


@dataclass(frozen=True)
class ServiceState:
    status: ServiceStatus
    status_since: datetime
    last_event_time: datetime
    subscriber: str | None = None
    product: str | None = None
    speed_profile: str | None = None
    ont_serial: str | None = None
    activated_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    """What one event says: its type, when, and the attributes it carries (None: not given)."""

    event_type: str
    at: datetime
    subscriber: str | None = None
    product: str | None = None
    speed_profile: str | None = None
    ont_serial: str | None = None


class ImpossibleTransition(ValueError):
    pass


def apply(state: ServiceState | None, change: Change) -> ServiceState:
    """The state after `change`; raises ImpossibleTransition when the event cannot follow."""
    allowed_from, target = TRANSITIONS[change.event_type]
    current = state.status if state else None
    if current not in allowed_from:
        raise ImpossibleTransition(
            f"{change.event_type} cannot follow {current.value if current else 'no service'}")
    if state is None or (target is not None and target is not current):
        status = target or ORDERED
        base = ServiceState(status, change.at, change.at) if state is None else replace(
            state, status=status, status_since=change.at)
    else:
        base = state
    given = {name: value for name in ("subscriber", "product", "speed_profile", "ont_serial")
             if (value := getattr(change, name)) is not None}
    activated = change.at if change.event_type == "activated" else base.activated_at
    return replace(base, last_event_time=change.at, activated_at=activated, **given)


def replay(changes: list[tuple[int, Change]]) -> tuple[ServiceState | None, dict[int, str | None]]:
    """Folds one service's events in (time, arrival) order. Returns the final state and, per
    event id, None if it applied or the reason it could not."""
    state: ServiceState | None = None
    outcomes: dict[int, str | None] = {}
    for row_id, change in sorted(changes, key=lambda item: (item[1].at, item[0])):
        try:
            state = apply(state, change)
            outcomes[row_id] = None
        except ImpossibleTransition as refusal:
            outcomes[row_id] = str(refusal)
    return state, outcomes
