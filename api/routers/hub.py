"""Webhook subscriptions (`/hub`, TMF688 style). Deliveries are signed with the secret
returned once at registration; an ISP's subscriptions receive only that ISP's events."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.schemas.hub import HubRequest, hub_document
from gis.errors import InvalidInput
from gis.status import Role
from sync import webhooks

router = APIRouter(prefix="/hub", tags=["webhooks"])
Subscriber = Annotated[Principal, Depends(require_roles(Role.bss, Role.isp))]


def _scope(principal: Principal) -> tuple[str | None, int | None]:
    """(isp, key) whose subscriptions the caller sees: admins see all."""
    if principal.role is Role.admin:
        return None, None
    return principal.isp_id, None if principal.isp_id else principal.key_id


@router.post("", status_code=201)
def register(body: HubRequest, session: SessionDep, principal: Subscriber) -> dict[str, Any]:
    """Registers a callback; the reply holds the signing secret (shown only now)."""
    try:
        types = body.event_types()
    except ValueError as error:
        raise InvalidInput(str(error), [{"location": ["body", "query"],
                                         "message": str(error)}]) from None
    subscription = webhooks.create_subscription(session, str(body.callback), types,
                                                principal.isp_id, principal.key_id)
    return hub_document(subscription, with_secret=True)


@router.get("")
def list_subscriptions(session: SessionDep, principal: Subscriber) -> list[dict[str, Any]]:
    return [hub_document(s) for s in webhooks.visible_subscriptions(session,
                                                                    *_scope(principal))]


@router.delete("/{subscription_id}", status_code=204)
def unregister(subscription_id: int, session: SessionDep, principal: Subscriber) -> Response:
    webhooks.delete_subscription(session, subscription_id, *_scope(principal))
    return Response(status_code=204)
