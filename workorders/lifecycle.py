"""Work order and task life cycle: schedule, assign, start, capture evidence, finish, skip,
override, cancel, reopen. Every change is in the order's history; the caller commits.

Functions take `scope`: a technician's crew or contractor id, which may act only on its own
tasks (anything else is "not found"), or None for planners and supervisors.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from gis.models import Address
from gis.status import TaskStatus, WorkOrderStatus
from workorders.completion import complete_order, leading_service, notify_customer
from workorders.evidence import check_limits, missing_evidence, parse_plan, refuse_if_missing
from workorders.history import record_change
from workorders.models import TaskEvidence, TemplateTask, WorkOrder, WorkOrderTask
from workorders.photos import EvidenceStore, Photo

ACTIVE = (WorkOrderStatus.open, WorkOrderStatus.scheduled, WorkOrderStatus.in_progress)
FINISHED_TASK = (TaskStatus.done, TaskStatus.skipped)
OVERRIDE_CODES = ("customer_declined", "known_network_limit", "equipment_fault",
                  "access_denied", "measured_by_other_means", "other")


@dataclass
class TaskInHand:
    order: WorkOrder
    task: WorkOrderTask
    spec: TemplateTask

    @property
    def label(self) -> str:
        return f"task {self.task.position} ({self.spec.name})"


def _order(session: Session, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id, with_for_update=True)
    if order is None:
        raise NotFound(f"work order {order_id} does not exist")
    return order


def _task(session: Session, order_id: int, position: int, scope: str | None,
          *, changing: bool = True) -> TaskInHand:
    """The task, with its order locked; NotFound outside the caller's scope."""
    order = _order(session, order_id)
    task = session.get(WorkOrderTask, (order_id, position))
    if task is None or (scope is not None and task.assignee_id != scope):
        raise NotFound(f"work order {order_id} has no task {position} for you")
    if changing and order.status not in ACTIVE:
        raise Conflict(f"work order {order_id} is {order.status}")
    spec = session.get_one(TemplateTask, (order.template_id, position))
    return TaskInHand(order, task, spec)


def _set_order_status(session: Session, order: WorkOrder, status: WorkOrderStatus,
                      actor: str) -> None:
    if order.status != status.value:
        record_change(session, order.id, "status", actor, {"status": order.status},
                      {"status": status.value})
        order.status = status.value
        order.updated_at = datetime.now(UTC)


def _started(session: Session, hand: TaskInHand, actor: str) -> None:
    if hand.task.status == TaskStatus.open.value:
        record_change(session, hand.order.id, "task_status", actor, {"status": "open"},
                      {"status": "in_progress"}, hand.task.position)
        hand.task.status = TaskStatus.in_progress.value
        hand.task.started_at = datetime.now(UTC)
    if hand.order.status != WorkOrderStatus.in_progress.value:
        _set_order_status(session, hand.order, WorkOrderStatus.in_progress, actor)


def _check_open_task(hand: TaskInHand) -> None:
    if hand.task.status in FINISHED_TASK:
        raise Conflict(f"{hand.label} is already {hand.task.status}")


# -- planner ---------------------------------------------------------------------------------
def schedule_order(session: Session, order_id: int, start: datetime, end: datetime,
                   crew: str | None, actor: str) -> None:
    if end <= start:
        raise InvalidInput("the appointment window ends before it starts")
    order = _order(session, order_id)
    if order.status not in ACTIVE:
        raise Conflict(f"work order {order_id} is {order.status}")
    before = {"start": _iso(order.scheduled_start), "end": _iso(order.scheduled_end),
              "crew": order.scheduled_crew}
    order.scheduled_start, order.scheduled_end, order.scheduled_crew = start, end, crew
    record_change(session, order.id, "scheduled", actor, before,
                  {"start": start.isoformat(), "end": end.isoformat(), "crew": crew})
    if order.status == WorkOrderStatus.open.value:
        _set_order_status(session, order, WorkOrderStatus.scheduled, actor)
    notify_customer(session, order, "scheduled", window={"start": start.isoformat(),
                                                         "end": end.isoformat()})
    session.flush()


def reassign_task(session: Session, order_id: int, position: int, assignee_type: str,
                  assignee_id: str, actor: str) -> None:
    hand = _task(session, order_id, position, None)
    _check_open_task(hand)
    before = {"type": hand.task.assignee_type, "id": hand.task.assignee_id}
    hand.task.assignee_type, hand.task.assignee_id = assignee_type, assignee_id
    record_change(session, order_id, "reassigned", actor, before,
                  {"type": assignee_type, "id": assignee_id}, position)
    session.flush()


def cancel_order(session: Session, order_id: int, reason: str, actor: str) -> None:
    order = _order(session, order_id)
    if order.status not in ACTIVE:
        raise TransitionNotAllowed(f"work order {order_id}", order.status, "cancelled", [])
    _set_order_status(session, order, WorkOrderStatus.cancelled, actor)
    record_change(session, order_id, "cancelled", actor, after={"reason": reason})
    session.flush()


def reopen_order(session: Session, order_id: int, reason: str, positions: list[int] | None,
                 actor: str, charge_minor: int | None = None) -> None:
    """A return visit: the order (and the given tasks, or all) are open again. The charge
    (if any) is kept with the change, for the no-charge rework metric."""
    order = _order(session, order_id)
    if order.status != WorkOrderStatus.completed.value:
        raise TransitionNotAllowed(f"work order {order_id}", order.status, "open", [])
    tasks = session.scalars(select(WorkOrderTask).where(
        WorkOrderTask.work_order_id == order_id)).all()
    chosen = set(positions) if positions else {t.position for t in tasks}
    if not chosen <= {t.position for t in tasks}:
        raise InvalidInput(f"work order {order_id} has no task(s) "
                           f"{sorted(chosen - {t.position for t in tasks})}")
    for task in tasks:
        if task.position in chosen:
            task.status, task.completed_at, task.completed_by = "open", None, None
            task.skip_reason = task.override_code = task.override_note = None
    order.rework_count += 1
    order.reopened_at = order.updated_at = datetime.now(UTC)
    order.status = WorkOrderStatus.open.value
    record_change(session, order_id, "reopened", actor, {"status": "completed"},
                  {"status": "open", "reason": reason, "tasks": sorted(chosen),
                   "charge_minor": charge_minor})
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"the address of work order {order_id} already has another open "
                       "work order") from None


def override_task(session: Session, order_id: int, position: int, code: str, note: str,
                  actor: str) -> None:
    """A supervisor waives the task's evidence rules, with a reason code (recorded)."""
    if code not in OVERRIDE_CODES:
        raise InvalidInput(f"reason code {code!r} is not one of {', '.join(OVERRIDE_CODES)}")
    hand = _task(session, order_id, position, None)
    _check_open_task(hand)
    hand.task.override_code, hand.task.override_note = code, note
    hand.task.override_by = actor
    record_change(session, order_id, "override", actor, None,
                  {"code": code, "note": note}, position)
    session.flush()


# -- technician ------------------------------------------------------------------------------
def start_task(session: Session, order_id: int, position: int, scope: str | None,
               actor: str) -> None:
    hand = _task(session, order_id, position, scope)
    _check_open_task(hand)
    _started(session, hand, actor)
    session.flush()


def _plan(session: Session, order: WorkOrder) -> tuple[float, float] | None:
    service = leading_service(session, order.address_feature_id)
    return parse_plan(service["speed_profile"]) if service else None


def record_reading(session: Session, order_id: int, position: int, reading: dict[str, Any],
                   scope: str | None, actor: str) -> int:
    """Stores a reading; one outside the task's limits is refused unless overridden."""
    hand = _task(session, order_id, position, scope)
    _check_open_task(hand)
    if not hand.task.override_code:
        check_limits(reading, hand.spec.evidence, _plan(session, hand.order))
    evidence = TaskEvidence(work_order_id=order_id, position=position, kind=reading["kind"],
                            data=reading, recorded_by=actor)
    session.add(evidence)
    if reading["kind"] == "ont_serial":  # scanning the ONT binds it to the address
        session.execute(update(Address).where(
            Address.feature_id == hand.order.address_feature_id).values(
            ont_serial=reading["serial"], updated_at=func.now()))
    _started(session, hand, actor)
    record_change(session, order_id, "evidence", actor, None, reading, position)
    session.flush()
    return evidence.id


def record_photo(session: Session, order_id: int, position: int, photo: Photo, data: bytes,
                 store: EvidenceStore, scope: str | None, actor: str) -> int:
    hand = _task(session, order_id, position, scope)
    _check_open_task(hand)
    store.put(photo.sha256, data)
    evidence = TaskEvidence(work_order_id=order_id, position=position, kind="photo",
                            data={"location": photo.location}, sha256=photo.sha256,
                            content_type=photo.content_type, size_bytes=photo.size,
                            recorded_by=actor)
    session.add(evidence)
    _started(session, hand, actor)
    record_change(session, order_id, "photo", actor, None,
                  {"sha256": photo.sha256, "location": photo.location}, position)
    session.flush()
    return evidence.id


def _finish(session: Session, hand: TaskInHand, status: TaskStatus, actor: str) -> bool:
    """Marks the task; completes the order when it was the last. True if it completed."""
    record_change(session, hand.order.id, "task_status", actor, {"status": hand.task.status},
                  {"status": status.value, "skip_reason": hand.task.skip_reason},
                  hand.task.position)
    hand.task.status = status.value
    hand.task.completed_at, hand.task.completed_by = datetime.now(UTC), actor
    _set_order_status(session, hand.order, WorkOrderStatus.in_progress, actor)
    session.flush()
    remaining = session.scalar(select(func.count()).select_from(WorkOrderTask).where(
        WorkOrderTask.work_order_id == hand.order.id,
        WorkOrderTask.status.not_in([s.value for s in FINISHED_TASK])))
    if remaining == 0:
        complete_order(session, hand.order, actor)
        return True
    return False


def mark_done(session: Session, order_id: int, position: int, scope: str | None,
              actor: str) -> bool:
    """Refused while required evidence is missing (unless overridden). True if the order
    completed with this task."""
    hand = _task(session, order_id, position, scope)
    _check_open_task(hand)
    if not hand.task.override_code:
        recorded = [e.data | {"kind": e.kind} for e in session.scalars(select(TaskEvidence)
                    .where(TaskEvidence.work_order_id == order_id,
                           TaskEvidence.position == position))]
        refuse_if_missing(hand.label, missing_evidence(hand.spec.evidence, recorded,
                                                       _plan(session, hand.order)))
    return _finish(session, hand, TaskStatus.done, actor)


def skip_task(session: Session, order_id: int, position: int, reason: str,
              scope: str | None, actor: str) -> bool:
    hand = _task(session, order_id, position, scope)
    _check_open_task(hand)
    if not hand.spec.skippable:
        raise Conflict(f"{hand.label} may not be skipped")
    hand.task.skip_reason = reason
    return _finish(session, hand, TaskStatus.skipped, actor)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
