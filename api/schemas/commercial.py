"""Commercial events on the wire (same envelope as service events), parsed one by one so a
bad one fails alone. Amounts are integers in minor units: {"amount": 3000, "currency": "EUR"}.
"""

from datetime import date
from typing import Any

from api.schemas.events import _text, _time
from services.contracts import IncomingCommercialEvent

EXAMPLE = {"eventId": "bss-c-0001", "eventType": "contract.signed",
           "eventTime": "2026-11-28T09:00:00Z",
           "event": {"contract": "C-1001", "isp": "isp-1", "address": 2618,
                     "product": "Fibre 500", "price": {"amount": 3000, "currency": "EUR"},
                     "anchorDay": 1, "termMonths": 12, "earlyTerminationFee": 5000,
                     "feePerRemainingMonth": 1000,
                     "promotion": {"price": 1500, "start": "2026-12-01",
                                   "end": "2027-02-28"}}}
# wire name -> contract column, for the plain integer terms
INTEGER_TERMS = {"anchorDay": "anchor_day", "termMonths": "term_months",
                 "earlyTerminationFee": "early_termination_fee_minor",
                 "feePerRemainingMonth": "fee_per_remaining_month_minor"}


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer (minor units)")
    return value


def _money(value: Any, name: str) -> tuple[int, str]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be {{\"amount\": <minor units>, \"currency\": \"EUR\"}}")
    currency = value.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"{name}.currency must be an ISO 4217 code such as EUR")
    return _integer(value.get("amount"), f"{name}.amount"), currency.upper()


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None


def _terms(body: dict[str, Any]) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    if "product" in body:
        terms["product"] = _text(body["product"], "event.product")
    if "price" in body:
        terms["price_minor"], terms["currency"] = _money(body["price"], "event.price")
    for theirs, ours in INTEGER_TERMS.items():
        if theirs in body:
            terms[ours] = _integer(body[theirs], f"event.{theirs}")
    if not 1 <= terms.get("anchor_day", 1) <= 28:
        raise ValueError("event.anchorDay must be 1..28")
    if "promotion" in body:
        promo = body["promotion"]
        if not isinstance(promo, dict):
            raise ValueError("event.promotion must be an object")
        terms["promotion_price_minor"] = _integer(promo.get("price"), "event.promotion.price")
        terms["promotion_start"] = _date(promo.get("start"), "event.promotion.start")
        terms["promotion_end"] = _date(promo.get("end"), "event.promotion.end")
        if terms["promotion_end"] < terms["promotion_start"]:
            raise ValueError("event.promotion ends before it starts")
    return terms


def parse_commercial_event(raw: dict[str, Any]) -> IncomingCommercialEvent:
    event = IncomingCommercialEvent(payload=raw, event_type=raw.get("eventType"))
    try:
        event.event_id = _text(raw.get("eventId"), "eventId")
        if not event.event_id:
            raise ValueError("eventId is missing")
        event.event_time = _time(raw.get("eventTime"))
        body = raw.get("event")
        if not isinstance(body, dict):
            raise ValueError("the event member must be an object")
        event.isp = _text(body.get("isp"), "event.isp")
        event.contract_ref = _text(body.get("contract"), "event.contract")
        if not event.isp or not event.contract_ref:
            raise ValueError("event.isp and event.contract are required")
        if body.get("address") is not None:
            event.address = int(_text(body["address"], "event.address") or "x")
        event.terms = _terms(body)
        if "amount" in body:
            event.amount_minor, event.currency = _money(body["amount"], "event.amount")
        event.attributes = {k: _text(body[k], f"event.{k}")
                            for k in ("invoice", "periodStart", "periodEnd", "reason",
                                      "dispute") if k in body}
    except ValueError as problem:
        event.problem = str(problem)
    return event
