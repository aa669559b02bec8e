"""TMF688-style service events on the wire, parsed one by one so a bad one fails alone."""

from datetime import datetime
from typing import Any

from services.events import IncomingEvent

ATTRIBUTES = {"subscriber": "subscriber", "product": "product",
              "speedProfile": "speed_profile", "ontSerial": "ont_serial"}
EXAMPLE = {"eventId": "bss-000123", "eventType": "service.activated",
           "eventTime": "2026-11-28T09:15:00Z",
           "event": {"address": 2618, "isp": "isp-1", "subscriber": "SUB-778",
                     "product": "Fibre 500", "speedProfile": "500/100",
                     "ontSerial": "ALCL12345678"}}


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{name} must be a string")


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("eventTime must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"eventTime {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"eventTime {value!r} has no time zone")
    return moment


def _address(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or \
            not str(value).isdigit():
        raise ValueError(f"event.address {value!r} is not an IQGeo feature id")
    return int(value)


def parse_event(raw: Any) -> IncomingEvent:
    """An IncomingEvent; a malformed one carries its `problem` instead of failing."""
    event = IncomingEvent(payload=raw)
    try:
        if not isinstance(raw, dict):
            raise ValueError("an event must be a JSON object")
        event.event_id = _text(raw.get("eventId"), "eventId")
        if not event.event_id:
            raise ValueError("eventId is missing")
        event.event_type = (_text(raw.get("eventType"), "eventType") or "")
        event.event_type = event.event_type.removeprefix("service.")
        event.event_time = _time(raw.get("eventTime"))
        body = raw.get("event")
        if not isinstance(body, dict):
            raise ValueError("the event member must be an object")
        event.address = _address(body.get("address"))
        event.isp = _text(body.get("isp"), "event.isp")
        if not event.isp:
            raise ValueError("event.isp is missing")
        event.attributes = {ours: _text(body.get(theirs), f"event.{theirs}")
                            for theirs, ours in ATTRIBUTES.items()}
    except ValueError as problem:
        event.problem = str(problem)
    return event
