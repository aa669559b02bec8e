"""Work order and task actions (`/work-orders/{id}/...`): planners schedule, assign, cancel,
reopen and override; technicians work their own tasks. POSTs honour `Idempotency-Key`."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, Request, UploadFile
from fastapi.responses import JSONResponse

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.idempotency import HEADER, once
from api.schemas.field import (
    OverrideRequest,
    ReasonRequest,
    ReassignRequest,
    ReopenRequest,
    ScheduleRequest,
)
from gis.status import Role
from workorders import lifecycle, orders
from workorders.evidence import Reading
from workorders.history import order_history
from workorders.photos import check_photo

router = APIRouter(prefix="/work-orders/{order_id}", tags=["work orders"])
Planner = Annotated[Principal, Depends(require_roles(Role.planner))]
Worker = Annotated[Principal, Depends(require_roles(Role.planner, Role.technician))]
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss, Role.technician))]
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]


def _scope(principal: Principal) -> str | None:
    return principal.crew_id if principal.role is Role.technician else None


def _actor(principal: Principal) -> str:
    who = f"api key {principal.name}"
    return f"{principal.crew_id}: {who}" if principal.crew_id else who


def _order(session: SessionDep, order_id: int, principal: Principal) -> dict[str, Any]:
    return orders.get_work_order(session, order_id, _scope(principal))


@router.get("/history")
def history(order_id: int, session: SessionDep, principal: Reader) -> list[dict[str, Any]]:
    """Every change: who, when, what, before and after (technicians: their tasks only)."""
    order = _order(session, order_id, principal)
    positions = {t["position"] for t in order["tasks"]} if _scope(principal) else None
    return order_history(session, order_id, positions)


@router.post("/schedule")
def schedule(order_id: int, body: ScheduleRequest, session: SessionDep,
             principal: Planner) -> dict[str, Any]:
    lifecycle.schedule_order(session, order_id, body.start, body.end, body.crew,
                             _actor(principal))
    return _order(session, order_id, principal)


@router.post("/cancel")
def cancel(order_id: int, body: ReasonRequest, session: SessionDep,
           principal: Planner) -> dict[str, Any]:
    lifecycle.cancel_order(session, order_id, body.reason, _actor(principal))
    return _order(session, order_id, principal)


@router.post("/reopen")
def reopen(order_id: int, body: ReopenRequest, session: SessionDep,
           principal: Planner) -> dict[str, Any]:
    """A return visit; counted in the order's `rework_count`."""
    lifecycle.reopen_order(session, order_id, body.reason, body.tasks, _actor(principal),
                           body.charge_minor)
    return _order(session, order_id, principal)


@router.patch("/tasks/{position}")
def reassign(order_id: int, position: int, body: ReassignRequest, session: SessionDep,
             principal: Planner) -> dict[str, Any]:
    lifecycle.reassign_task(session, order_id, position, body.assignee.type.value,
                            body.assignee.id, _actor(principal))
    return _order(session, order_id, principal)


@router.post("/tasks/{position}/override")
def override(order_id: int, position: int, body: OverrideRequest, session: SessionDep,
             principal: Planner) -> dict[str, Any]:
    """A supervisor waives the task's evidence rules, with a reason code."""
    lifecycle.override_task(session, order_id, position, body.reason_code, body.note,
                            _actor(principal))
    return _order(session, order_id, principal)


@router.post("/tasks/{position}/start")
def start(order_id: int, position: int, session: SessionDep, principal: Worker,
          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def act() -> dict[str, Any]:
        lifecycle.start_task(session, order_id, position, _scope(principal), _actor(principal))
        return _order(session, order_id, principal)
    return once(session, principal, idempotency_key, 200, act)


@router.post("/tasks/{position}/evidence")
def add_reading(order_id: int, position: int, reading: Annotated[Reading, Body()],
                session: SessionDep, principal: Worker,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """A light level, speed test, measurement, note, ONT serial or signature. Readings out of
    the task's limits are refused with the limit."""
    def act() -> dict[str, Any]:
        evidence_id = lifecycle.record_reading(session, order_id, position,
                                               reading.model_dump(), _scope(principal),
                                               _actor(principal))
        return {"evidence_id": evidence_id}
    return once(session, principal, idempotency_key, 201, act)


@router.post("/tasks/{position}/photos")
def add_photo(request: Request, order_id: int, position: int,
              file: Annotated[UploadFile, File(description="JPEG, PNG or HEIC")],
              session: SessionDep, principal: Worker,
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
    settings = request.app.state.settings
    data = file.file.read(settings.max_photo_bytes + 1)

    def act() -> dict[str, Any]:
        photo = check_photo(data, settings.max_photo_bytes)
        evidence_id = lifecycle.record_photo(session, order_id, position, photo, data,
                                             request.app.state.evidence_store,
                                             _scope(principal), _actor(principal))
        return {"evidence_id": evidence_id, "sha256": photo.sha256,
                "content_type": photo.content_type, "location": photo.location}
    return once(session, principal, idempotency_key, 201, act)


@router.post("/tasks/{position}/done")
def done(order_id: int, position: int, session: SessionDep, principal: Worker,
         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Refused (409, with what is missing) until the required evidence is in. The last task
    done completes the order."""
    def act() -> dict[str, Any]:
        completed = lifecycle.mark_done(session, order_id, position, _scope(principal),
                                        _actor(principal))
        return {"order_completed": completed, "work_order": _order(session, order_id,
                                                                    principal)}
    return once(session, principal, idempotency_key, 200, act)


@router.post("/tasks/{position}/skip")
def skip(order_id: int, position: int, body: ReasonRequest, session: SessionDep,
         principal: Worker, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    def act() -> dict[str, Any]:
        completed = lifecycle.skip_task(session, order_id, position, body.reason,
                                        _scope(principal), _actor(principal))
        return {"order_completed": completed, "work_order": _order(session, order_id,
                                                                    principal)}
    return once(session, principal, idempotency_key, 200, act)
