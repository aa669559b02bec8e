"""Work orders (`/work-orders`): read with filters, and customer orders at built addresses."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.schemas.workorders import WorkOrderRequest
from gis.status import Role, WorkOrderStatus
from workorders import orders

router = APIRouter(prefix="/work-orders", tags=["work orders"])
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss, Role.technician))]
Orderer = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]


def _assignee(principal: Principal, asked: str | None) -> str | None:
    """Technicians see only orders with their own tasks, and only those tasks."""
    if principal.role is not Role.technician:
        return asked
    if asked is not None and asked != principal.crew_id:
        raise HTTPException(403, f"this key sees only the tasks of {principal.crew_id}")
    return principal.crew_id


@router.get("")
def list_work_orders(request: Request, session: SessionDep, principal: Reader,
                     area: int | None = None, status: WorkOrderStatus | None = None,
                     assignee: Annotated[str | None, Query(description="crew or contractor "
                                                           "id")] = None,
                     template: Annotated[str | None, Query(description="template key")] = None,
                     address: Annotated[int | None, Query(description="address feature id")]
                     = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     after: Annotated[int | None, Query(description="order id to page after")]
                     = None) -> dict[str, Any]:
    """Orders in id order with a `next` link (keyset paging)."""
    items = orders.list_work_orders(
        session, limit=limit, after=after, area=area, status=status.value if status else None,
        template=template, assignee=_assignee(principal, assignee), address=address)
    next_url = (str(request.url.include_query_params(after=items[-1]["id"]))
                if len(items) == limit else None)
    return {"items": items, "next": next_url}


@router.get("/{order_id}")
def get_work_order(order_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """The order with its tasks and the evidence each task requires."""
    return orders.get_work_order(session, order_id, _assignee(principal, None))


@router.post("", status_code=201)
def order_connection(body: WorkOrderRequest, session: SessionDep,
                     principal: Orderer) -> dict[str, Any]:
    """A connection work order at an address that is ready_for_service or connected;
    409 if the address already has an open order."""
    order_id = orders.create_connection_order(session, body.address_feature_id,
                                              f"api key {principal.name}", body.reason)
    return orders.get_work_order(session, order_id)
