"""Area transitions. `in_deployment` moves every address inside and spawns its work order."""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.areas import get_area
from gis.errors import Conflict, TransitionNotAllowed
from gis.models import Area, OutboxEvent, StatusTransition
from gis.status import OPEN_WORK_ORDER_STATUSES, AreaStatus
from workorders.models import WorkOrder
from workorders.spawn import DEPLOYMENT, Scope, SpawnCounts, spawn_work_orders

NEXT: dict[AreaStatus, tuple[AreaStatus, ...]] = {
    AreaStatus.planned: (AreaStatus.surveyed,),
    AreaStatus.surveyed: (AreaStatus.in_deployment,),
    AreaStatus.in_deployment: (AreaStatus.built,),
    AreaStatus.built: (),
}


@dataclass
class AreaTransition:
    area_id: int
    from_status: str
    to_status: str
    dry_run: bool
    redeploy: bool = False  # in_deployment again: picks up addresses added since
    surveyed_addresses: int | None = None
    deployment: SpawnCounts | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_SURVEY = text("""
WITH moved AS (
  UPDATE addresses a SET status = 'surveyed', updated_at = now()
  FROM areas ar
  WHERE ar.id = :area_id AND ST_Intersects(a.location, ar.geometry)
    AND a.status = 'planned' AND NOT a.retired AND NOT CAST(:dry_run AS boolean)
  RETURNING a.feature_id
), would AS (
  SELECT a.feature_id FROM addresses a JOIN areas ar ON ST_Intersects(a.location, ar.geometry)
  WHERE ar.id = :area_id AND a.status = 'planned' AND NOT a.retired AND CAST(:dry_run AS boolean)
), transitions AS (
  INSERT INTO status_transitions (entity_type, entity_id, from_status, to_status, actor, reason)
  SELECT 'address', feature_id::text, 'planned', 'surveyed', CAST(:actor AS text),
         CAST(:reason AS text)
  FROM moved
), events AS (
  INSERT INTO outbox (topic, key, payload)
  SELECT 'address.status_changed', 'address:' || feature_id,
         jsonb_build_object('feature_id', feature_id, 'from', 'planned', 'to', 'surveyed',
                            'actor', CAST(:actor AS text), 'reason', CAST(:reason AS text))
  FROM moved
)
SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM would)
""")


def _check_allowed(area: Area, to: AreaStatus) -> bool:
    """True for a re-deployment; raises TransitionNotAllowed for a step the cycle forbids."""
    current = AreaStatus(area.status)
    if current is AreaStatus.in_deployment and to is AreaStatus.in_deployment:
        return True
    if to not in NEXT[current]:
        raise TransitionNotAllowed(f"area {area.id}", current.value, to.value,
                                   [s.value for s in NEXT[current]])
    return False


def _check_built(session: Session, area: Area) -> None:
    still_open = session.scalar(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.area_id == area.id, WorkOrder.status.in_(OPEN_WORK_ORDER_STATUSES)))
    if still_open:
        raise Conflict(f"area {area.id} still has {still_open} open work order(s); it is built "
                       "when all are completed or cancelled", open_work_orders=still_open)


def _record(session: Session, area: Area, to: AreaStatus, actor: str,
            reason: str | None) -> None:
    session.add(StatusTransition(entity_type="area", entity_id=str(area.id),
                                 from_status=area.status, to_status=to.value, actor=actor,
                                 reason=reason))
    session.add(OutboxEvent(topic="area.status_changed", key=f"area:{area.id}", payload={
        "area_id": area.id, "from": area.status, "to": to.value, "actor": actor,
        "reason": reason}))
    area.status = to.value
    area.updated_at = func.now()
    session.flush()


def transition_area(session: Session, area_id: int, to: AreaStatus, actor: str,
                    reason: str | None = None, *, dry_run: bool = False) -> AreaTransition:
    """Moves an area one step, with everything the step implies; the caller commits.
    A dry run returns the same counts and writes nothing."""
    area = get_area(session, area_id, lock=not dry_run)
    redeploy = _check_allowed(area, to)
    outcome = AreaTransition(area.id, area.status, to.value, dry_run, redeploy)
    params = {"area_id": area.id, "actor": actor, "reason": reason, "dry_run": dry_run}
    if to is AreaStatus.surveyed:
        outcome.surveyed_addresses = session.execute(_SURVEY, params).scalar_one()
    elif to is AreaStatus.in_deployment:
        outcome.deployment = spawn_work_orders(session, Scope(area_id=area.id), DEPLOYMENT,
                                               actor, reason, dry_run=dry_run)
    elif to is AreaStatus.built:
        _check_built(session, area)
    if not dry_run and not redeploy:
        _record(session, area, to, actor, reason)
    return outcome
