"""Work orders for a set of addresses, in one set-based statement: the only way orders are made.

The same statement serves an area going into deployment and a single customer order, and a
dry run computes the same counts from the same CTEs without writing. "Never twice" is the
partial unique index on open work orders: the insert skips addresses that already have one,
also when another transaction takes them at the same moment.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from gis.errors import Conflict
from gis.status import AddressStatus
from workorders.models import OPEN_STATUSES_SQL, Purpose
from workorders.templates import template_choice


@dataclass(frozen=True)
class Scope:
    """Which addresses to consider: those inside an area, or one address."""

    area_id: int | None = None
    feature_id: int | None = None

    def from_clause(self) -> str:
        if self.area_id is not None:
            return ("addresses a JOIN areas ar ON ST_Intersects(a.location, ar.geometry) "
                    "WHERE ar.id = :area_id")
        return "addresses a WHERE a.feature_id = :feature_id"


@dataclass(frozen=True)
class Plan:
    purpose: Purpose
    eligible: tuple[AddressStatus, ...]  # statuses that get an order
    move_to: AddressStatus | None  # where those addresses go, if anywhere


DEPLOYMENT = Plan(Purpose.deployment, (AddressStatus.planned, AddressStatus.surveyed),
                  AddressStatus.in_deployment)
CONNECTION = Plan(Purpose.connection,
                  (AddressStatus.ready_for_service, AddressStatus.connected), None)


@dataclass
class SpawnCounts:
    addresses_in_scope: int = 0
    addresses_by_status: dict[str, int] = field(default_factory=dict)  # ordered, by old status
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> addresses
    work_orders: int = 0
    work_orders_by_template: list[dict[str, Any]] = field(default_factory=list)
    tasks: int = 0
    events: int = 0


_SCOPE = """
WITH in_scope AS MATERIALIZED (
  SELECT a.feature_id, a.status, a.retired,
         CASE WHEN NOT a.retired AND a.status = ANY(CAST(:eligible AS text[]))
              THEN {choice} END AS template_id
  FROM {scope}
),
candidates AS (
  SELECT feature_id, status AS from_status, template_id FROM in_scope
  WHERE template_id IS NOT NULL
),
"""

_WRITE = f"""
orders AS (
  INSERT INTO work_orders (address_feature_id, area_id, template_id, purpose, created_by)
  SELECT feature_id, CAST(:area_id AS bigint), template_id, CAST(:purpose AS text),
         CAST(:actor AS text)
  FROM candidates
  ORDER BY feature_id  -- one lock order for every deployment: no deadlocks between them
  ON CONFLICT (address_feature_id) WHERE status IN ({OPEN_STATUSES_SQL}) DO NOTHING
  RETURNING id, address_feature_id, template_id
),
tasks AS (
  INSERT INTO work_order_tasks (work_order_id, position, kind, assignee_type, assignee_id)
  SELECT o.id, t.position, t.kind, t.assignee_type, t.assignee_id
  FROM orders o JOIN work_order_template_tasks t ON t.template_id = o.template_id
  RETURNING work_order_id
),
moved AS (
  UPDATE addresses a SET status = CAST(:move_to AS text), updated_at = now()
  FROM orders o JOIN candidates c ON c.feature_id = o.address_feature_id
  WHERE a.feature_id = o.address_feature_id AND CAST(:move_to AS text) IS NOT NULL
  RETURNING a.feature_id, c.from_status
),
transitions AS (
  INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor, reason)
  SELECT 'address', feature_id::text, from_status, CAST(:move_to AS text),
         CAST(:actor AS text), CAST(:reason AS text)
  FROM moved
  RETURNING 1
),
events AS (
  -- Per address, the status change is queued before the work order that caused it.
  INSERT INTO outbox (topic, key, payload)
  SELECT 'address.status_changed', 'address:' || feature_id,
         jsonb_build_object('feature_id', feature_id, 'from', from_status,
                            'to', CAST(:move_to AS text), 'actor', CAST(:actor AS text),
                            'reason', CAST(:reason AS text))
  FROM moved
  UNION ALL
  SELECT 'work_order.created', 'address:' || address_feature_id,
         jsonb_build_object('work_order_id', id, 'feature_id', address_feature_id,
                            'template_id', template_id,
                            'purpose', CAST(:purpose AS text),
                            'area_id', CAST(:area_id AS bigint))
  FROM orders
  RETURNING 1
)
"""

_DRY_RUN = f"""
orders AS (
  SELECT NULL::bigint AS id, c.feature_id AS address_feature_id, c.template_id
  FROM candidates c
  WHERE NOT EXISTS (SELECT 1 FROM work_orders w WHERE w.address_feature_id = c.feature_id
                    AND w.status IN ({OPEN_STATUSES_SQL}))
),
tasks AS (
  SELECT o.address_feature_id FROM orders o
  JOIN work_order_template_tasks t ON t.template_id = o.template_id
),
moved AS (
  SELECT address_feature_id FROM orders WHERE CAST(:move_to AS text) IS NOT NULL
),
events AS (SELECT 1 FROM moved UNION ALL SELECT 1 FROM orders)
"""

_COUNTS = """
SELECT
  (SELECT count(*) FROM in_scope) AS addresses_in_scope,
  (SELECT coalesce(jsonb_object_agg(from_status, n), '{}') FROM (
     SELECT c.from_status, count(*) AS n FROM orders o
     JOIN candidates c ON c.feature_id = o.address_feature_id GROUP BY 1) s) AS by_status,
  (SELECT count(*) FROM in_scope WHERE retired OR status = 'retired') AS retired,
  (SELECT count(*) FROM in_scope
   WHERE NOT retired AND status <> 'retired' AND template_id IS NULL) AS not_eligible,
  (SELECT count(*) FROM candidates) - (SELECT count(*) FROM orders) AS open_work_order,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('template', t.key, 'version', t.version,
                                                'work_orders', n) ORDER BY t.key), '[]')
   FROM (SELECT template_id, count(*) AS n FROM orders GROUP BY 1) w
   JOIN work_order_templates t ON t.id = w.template_id) AS by_template,
  (SELECT count(*) FROM orders) AS work_orders,
  (SELECT count(*) FROM tasks) AS tasks,
  (SELECT count(*) FROM events) AS events
"""


def spawn_work_orders(session: Session, scope: Scope, plan: Plan, actor: str,
                      reason: str | None, *, dry_run: bool) -> SpawnCounts:
    """Creates (or, dry, counts) one order per eligible address in scope, with its tasks,
    status moves, transition records and outbox events. Two statements whatever the size;
    the caller commits. Addresses that already have an open order are skipped."""
    choice = template_choice(session, plan.purpose)
    sql = (_SCOPE.format(choice=choice.sql, scope=scope.from_clause())
           + (_DRY_RUN if dry_run else _WRITE) + _COUNTS)
    params = {**choice.params, "area_id": scope.area_id, "feature_id": scope.feature_id,
              "eligible": [s.value for s in plan.eligible], "purpose": plan.purpose.value,
              "move_to": plan.move_to.value if plan.move_to else None,
              "actor": actor, "reason": reason}
    try:
        row = session.execute(text(sql), params).one()
    except DataError as error:  # a rule compared a value it cannot (e.g. "many" >= 10)
        problem = str(error.orig).splitlines()[0]
        raise Conflict(f"a work order template rule failed on an address in scope, so "
                       f"nothing was done: {problem}; fix the rule or the address") from error
    return _counts(row, plan)


def _counts(row: Any, plan: Plan) -> SpawnCounts:
    not_eligible = ("already_deployed" if plan.purpose is Purpose.deployment
                    else "not_built")
    order = {s.value: i for i, s in enumerate(AddressStatus)}
    return SpawnCounts(
        addresses_in_scope=row.addresses_in_scope,
        addresses_by_status=dict(sorted(row.by_status.items(), key=lambda kv: order[kv[0]])),
        skipped={"retired": row.retired, not_eligible: row.not_eligible,
                 "open_work_order": row.open_work_order},
        work_orders=row.work_orders, work_orders_by_template=row.by_template,
        tasks=row.tasks, events=row.events)
