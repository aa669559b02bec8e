"""A work order's history: every change, who made it, when, before and after."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workorders.models import WorkOrderChange


def record_change(session: Session, order_id: int, action: str, actor: str,
                  before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                  position: int | None = None) -> None:
    session.add(WorkOrderChange(work_order_id=order_id, position=position, action=action,
                                before=before, after=after, actor=actor))


def order_history(session: Session, order_id: int,
                  positions: set[int] | None = None) -> list[dict[str, Any]]:
    """Oldest first; with `positions`, only order-level changes and those tasks'."""
    changes = session.scalars(select(WorkOrderChange).where(
        WorkOrderChange.work_order_id == order_id).order_by(WorkOrderChange.id))
    return [{"at": c.at, "actor": c.actor, "action": c.action, "task": c.position,
             "before": c.before, "after": c.after}
            for c in changes if positions is None or c.position in positions | {None}]
