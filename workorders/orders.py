"""Customer (connection) orders, and reading work orders with their tasks."""

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import Address
from gis.status import OPEN_WORK_ORDER_STATUSES
from workorders.models import WorkOrder
from workorders.spawn import CONNECTION, Scope, spawn_work_orders


def create_connection_order(session: Session, feature_id: int, actor: str,
                            reason: str | None = None) -> int:
    """A connection work order at a built or connected address, through the same path as a
    deployment (same template rules, same never-twice rule). Returns the order id."""
    address = session.get(Address, feature_id)
    if address is None:
        raise NotFound(f"address {feature_id} does not exist")
    counts = spawn_work_orders(session, Scope(feature_id=feature_id), CONNECTION, actor,
                               reason, dry_run=False)
    order_id = session.scalar(select(WorkOrder.id).where(
        WorkOrder.address_feature_id == feature_id,
        WorkOrder.status.in_(OPEN_WORK_ORDER_STATUSES)))
    if counts.work_orders == 1 and order_id is not None:
        return order_id
    if counts.skipped["retired"]:
        raise Conflict(f"address {feature_id} is retired")
    if counts.skipped["open_work_order"]:
        raise Conflict(f"address {feature_id} already has open work order {order_id}",
                       work_order_id=order_id)
    raise Conflict(f"address {feature_id} is {address.status}; connection orders are for "
                   "addresses that are ready_for_service or connected (deploy its area first)")


_ORDERS = """
SELECT w.id, w.address_feature_id, w.area_id, w.purpose, w.status, w.rework_count,
       w.scheduled_start, w.scheduled_end, w.scheduled_crew,
       w.created_by, w.created_at, w.updated_at, w.completed_at,
       t.key AS template, t.version AS template_version, t.name AS template_name,
       json_build_object('name', a.name, 'street_number', a.street_number,
                         'street_name', a.street_name, 'postcode', a.postcode,
                         'city', a.city, 'lon', ST_X(a.location), 'lat', ST_Y(a.location))
         AS address
FROM work_orders w JOIN work_order_templates t ON t.id = w.template_id
JOIN addresses a ON a.feature_id = w.address_feature_id
WHERE (CAST(:id AS bigint) IS NULL OR w.id = :id)
  AND (CAST(:after AS bigint) IS NULL OR w.id > :after)
  AND (CAST(:area AS bigint) IS NULL OR w.area_id = :area)
  AND (CAST(:status AS text) IS NULL OR w.status = :status)
  AND (CAST(:template AS text) IS NULL OR t.key = :template)
  AND (CAST(:address AS bigint) IS NULL OR w.address_feature_id = :address)
  AND (CAST(:assignee AS text) IS NULL OR EXISTS (
       SELECT 1 FROM work_order_tasks k WHERE k.work_order_id = w.id
       AND k.assignee_id = :assignee))
ORDER BY w.id LIMIT :limit
"""

_RECORDS = text("""
SELECT id, work_order_id, record, created_at FROM installation_records
WHERE address_feature_id = :fid ORDER BY id DESC
""")

_TASKS = text("""
SELECT k.work_order_id, k.position, k.kind, tt.name, k.assignee_type, k.assignee_id,
       k.status, tt.evidence AS evidence_required, tt.skippable, k.started_at,
       k.completed_at, k.completed_by, k.skip_reason, k.override_code, k.override_note,
       (SELECT coalesce(json_agg(json_build_object(
                'id', e.id, 'kind', e.kind, 'data', e.data, 'sha256', e.sha256,
                'recorded_by', e.recorded_by, 'recorded_at', e.recorded_at) ORDER BY e.id),
                '[]'::json)
        FROM task_evidence e WHERE e.work_order_id = k.work_order_id
          AND e.position = k.position) AS evidence
FROM work_order_tasks k
JOIN work_orders w ON w.id = k.work_order_id
JOIN work_order_template_tasks tt ON tt.template_id = w.template_id AND tt.position = k.position
WHERE k.work_order_id = ANY(:ids)
  AND (CAST(:assignee AS text) IS NULL OR k.assignee_id = :assignee)
ORDER BY k.work_order_id, k.position
""")


def list_work_orders(session: Session, *, limit: int = 100, after: int | None = None,
                     area: int | None = None, status: str | None = None,
                     template: str | None = None, assignee: str | None = None,
                     address: int | None = None, order_id: int | None = None,
                     with_tasks: bool = False) -> list[dict[str, Any]]:
    """Orders in id order (keyset: pass the last id as `after`). With `assignee`, only
    orders with a task for that crew or contractor, and only those tasks."""
    params = {"id": order_id, "after": after, "area": area, "status": status,
              "template": template, "address": address, "assignee": assignee,
              "limit": limit}
    orders = [dict(row._mapping) for row in session.execute(text(_ORDERS), params)]
    if with_tasks and orders:
        tasks: dict[int, list[dict[str, Any]]] = {o["id"]: [] for o in orders}
        for row in session.execute(_TASKS, {"ids": list(tasks), "assignee": assignee}):
            task = dict(row._mapping)
            tasks[task.pop("work_order_id")].append(task)
        for order in orders:
            order["tasks"] = tasks[order["id"]]
    return orders


def get_work_order(session: Session, order_id: int,
                   assignee: str | None = None) -> dict[str, Any]:
    found = list_work_orders(session, order_id=order_id, assignee=assignee, limit=1,
                             with_tasks=True)
    if not found:
        raise NotFound(f"work order {order_id} does not exist")
    return found[0]


def installation_records(session: Session, feature_id: int) -> list[dict[str, Any]]:
    """The address's installation records, newest first (a reopened order adds one)."""
    return [dict(row._mapping) for row in session.execute(_RECORDS, {"fid": feature_id})]
