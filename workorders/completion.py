"""Completing a work order: the address moves on, an immutable installation record is written,
and provisioning and the customer are told, all in the caller's transaction."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.models import Address, OutboxEvent, StatusTransition
from gis.queries.services import LEADING_SERVICE_FILTER, LEADING_SERVICE_ORDER
from gis.status import AddressStatus, WorkOrderStatus
from workorders.history import record_change
from workorders.models import (
    InstallationRecord,
    TaskEvidence,
    TemplateTask,
    WorkOrder,
    WorkOrderTask,
    WorkOrderTemplate,
)

PROGRESS = [s.value for s in AddressStatus if s is not AddressStatus.retired]

_LEADING_SERVICE = text(f"""
SELECT s.isp_id AS isp, s.status, s.product, s.speed_profile, s.subscriber FROM services s
WHERE s.address_feature_id = :fid AND {LEADING_SERVICE_FILTER}
ORDER BY {LEADING_SERVICE_ORDER}
LIMIT 1
""")


def leading_service(session: Session, feature_id: int) -> dict[str, Any] | None:
    row = session.execute(_LEADING_SERVICE, {"fid": feature_id}).one_or_none()
    return dict(row._mapping) if row else None


def notify_customer(session: Session, order: WorkOrder, step: str, **extra: Any) -> None:
    """A customer-visible step; `isp` routes it to that ISP's webhooks."""
    service = leading_service(session, order.address_feature_id)
    session.add(OutboxEvent(topic="customer.notification",
                            key=f"address:{order.address_feature_id}",
                            payload={"feature_id": order.address_feature_id,
                                     "work_order_id": order.id, "step": step,
                                     "isp": service["isp"] if service else None, **extra}))


def _move_address(session: Session, address: Address, to: str, actor: str,
                  order: WorkOrder) -> bool:
    if address.retired or PROGRESS.index(address.status) >= PROGRESS.index(to):
        return False  # never backwards
    reason = f"work order {order.id} completed"
    session.add(StatusTransition(entity_type="address", entity_id=str(address.feature_id),
                                 from_status=address.status, to_status=to, actor=actor,
                                 reason=reason))
    session.add(OutboxEvent(topic="address.status_changed",
                            key=f"address:{address.feature_id}",
                            payload={"feature_id": address.feature_id, "from": address.status,
                                     "to": to, "actor": actor, "reason": reason}))
    address.status = to
    return True


def _record(session: Session, order: WorkOrder, template: WorkOrderTemplate,
            address: Address, actor: str) -> dict[str, Any]:
    names = dict(session.execute(select(TemplateTask.position, TemplateTask.name).where(
        TemplateTask.template_id == template.id)).all())
    tasks = session.scalars(select(WorkOrderTask).where(
        WorkOrderTask.work_order_id == order.id).order_by(WorkOrderTask.position))
    evidence = session.scalars(select(TaskEvidence).where(
        TaskEvidence.work_order_id == order.id).order_by(TaskEvidence.id))
    return {
        "work_order_id": order.id, "purpose": order.purpose, "rework_count": order.rework_count,
        "template": {"key": template.key, "version": template.version},
        "address": {"feature_id": address.feature_id, "name": address.name,
                    "status": address.status},
        "ont_serial": address.ont_serial, "completed_by": actor,
        "completed_at": datetime.now(UTC).isoformat(),
        "tasks": [{"position": t.position, "kind": t.kind, "name": names.get(t.position),
                   "assignee": {"type": t.assignee_type, "id": t.assignee_id},
                   "status": t.status, "done_by": t.completed_by,
                   "done_at": t.completed_at.isoformat() if t.completed_at else None,
                   "skip_reason": t.skip_reason,
                   "override": {"code": t.override_code, "note": t.override_note,
                                "by": t.override_by} if t.override_code else None}
                  for t in tasks],
        "evidence": [{"task": e.position, "kind": e.kind, "data": e.data,
                      "sha256": e.sha256, "recorded_by": e.recorded_by,
                      "recorded_at": e.recorded_at.isoformat()} for e in evidence],
    }


def complete_order(session: Session, order: WorkOrder, actor: str) -> None:
    """The order is locked by the caller and all its tasks are done or skipped."""
    template = session.get_one(WorkOrderTemplate, order.template_id)
    address = session.get_one(Address, order.address_feature_id, with_for_update=True)
    order.status = WorkOrderStatus.completed.value
    order.completed_at = datetime.now(UTC)
    moved = _move_address(session, address, template.completes_to, actor, order)
    session.flush()
    session.add(InstallationRecord(address_feature_id=address.feature_id,
                                   work_order_id=order.id,
                                   record=_record(session, order, template, address, actor)))
    service = leading_service(session, address.feature_id)
    session.add(OutboxEvent(topic="provisioning.requested",
                            key=f"address:{address.feature_id}", payload={
        "feature_id": address.feature_id, "work_order_id": order.id,
        "circuit_id": address.circuit_id, "circuit_name": address.circuit_name,
        "ont_serial": address.ont_serial, "isp": service["isp"] if service else None,
        "service": service}))
    notify_customer(session, order, "installed")
    if moved:
        notify_customer(session, order, "ready", address_status=address.status)
    record_change(session, order.id, "completed", actor, after={"status": "completed"})
    session.flush()
