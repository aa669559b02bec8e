"""Webhooks (TMF688 hub): subscriptions, and signed deliveries through the outbox.

Deliveries are created by a trigger when an outbox event is written (migration 0004), so a
webhook is as durable as the change it announces. Each POST carries the delivery id (the
receiver's de-duplication key) and an HMAC-SHA256 of the body with the subscription's secret.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.models import WebhookSubscription

if TYPE_CHECKING:  # the worker package imports this module
    from sync.worker.retry import RetryPolicy

SIGNATURE_HEADER = "X-FiberSync-Signature"
DELIVERY_HEADER = "X-FiberSync-Delivery"


def create_subscription(session: Session, callback: str, event_types: list[str],
                        isp_id: str | None, key_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription(callback=callback, event_types=event_types,
                                       isp_id=isp_id, secret=secrets.token_urlsafe(32),
                                       created_by_key=key_id)
    session.add(subscription)
    session.flush()
    return subscription


def visible_subscriptions(session: Session, isp_id: str | None, key_id: int | None
                          ) -> list[WebhookSubscription]:
    """An ISP key sees its ISP's subscriptions; another key those it made; None sees all."""
    query = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if isp_id is not None:
        query = query.where(WebhookSubscription.isp_id == isp_id)
    elif key_id is not None:
        query = query.where(WebhookSubscription.created_by_key == key_id)
    return list(session.scalars(query))


def delete_subscription(session: Session, subscription_id: int, isp_id: str | None,
                        key_id: int | None) -> None:
    found = [s for s in visible_subscriptions(session, isp_id, key_id)
             if s.id == subscription_id]
    if not found:
        raise NotFound(f"subscription {subscription_id} does not exist")
    session.delete(found[0])
    session.flush()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: int
    topic: str
    payload: dict[str, Any]
    event_time: datetime
    attempts: int
    callback: str
    secret: str

    def body(self) -> bytes:
        return orjson.dumps({"eventId": str(self.event_id), "eventType": self.topic,
                             "eventTime": self.event_time, "event": self.payload})


_CLAIM = text("""
UPDATE webhook_deliveries d
SET claimed_until = now() + make_interval(secs => :lease), attempts = d.attempts + 1
FROM webhook_subscriptions s
WHERE s.id = d.subscription_id AND d.id IN (
  SELECT id FROM webhook_deliveries
  WHERE delivered_at IS NULL AND parked_at IS NULL AND available_at <= now()
    AND (claimed_until IS NULL OR claimed_until < now())
  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.event_id, d.topic, d.payload, d.event_time, d.attempts, s.callback,
          s.secret
""")

_SETTLE = {
    "delivered": "delivered_at = now(), claimed_until = NULL, last_error = NULL",
    "parked": "parked_at = now(), claimed_until = NULL, last_error = :error",
    "retry": "available_at = now() + make_interval(secs => :delay), claimed_until = NULL, "
             "last_error = :error",
}


def _settle(conn: Connection, delivery_id: int, outcome: str, error: str | None = None,
            delay: float = 0.0) -> None:
    with conn.begin():
        conn.execute(text(f"UPDATE webhook_deliveries SET {_SETTLE[outcome]} WHERE id = :id"),
                     {"id": delivery_id, "error": (error or "")[:2000], "delay": delay})


def _post(http: httpx.Client, delivery: Delivery) -> tuple[str, str | None]:
    body = delivery.body()
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(delivery.id),
               "X-FiberSync-Event": delivery.topic, SIGNATURE_HEADER: sign(delivery.secret, body)}
    try:
        reply = http.post(delivery.callback, content=body, headers=headers)
    except httpx.HTTPError as error:
        return "retry", f"{type(error).__name__}: {error}"
    if reply.is_success:
        return "delivered", None
    permanent = 400 <= reply.status_code < 500 and reply.status_code not in (408, 429)
    return ("parked" if permanent else "retry"), f"HTTP {reply.status_code} from the receiver"


def deliver_webhooks(conn: Connection, http: httpx.Client, policy: "RetryPolicy", limit: int,
                     lease_seconds: float) -> int:
    """Claims and posts up to `limit` due deliveries; returns how many it handled."""
    with conn.begin():
        claimed = [Delivery(**row._mapping) for row in conn.execute(
            _CLAIM, {"limit": limit, "lease": lease_seconds})]
    for delivery in sorted(claimed, key=lambda d: d.id):
        outcome, error = _post(http, delivery)
        if outcome == "retry" and policy.exhausted(delivery.attempts):
            outcome, error = "parked", f"gave up after {delivery.attempts} attempts: {error}"
        _settle(conn, delivery.id, outcome, error, policy.delay(delivery.attempts))
    return len(claimed)
