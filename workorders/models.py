"""Work order templates (versioned), work orders and their tasks."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models.base import Base, created_at_column, values_check
from gis.status import OPEN_WORK_ORDER_STATUSES, TaskStatus, WorkOrderStatus


class Purpose(StrEnum):
    deployment = "deployment"  # spawned when an area goes into deployment
    connection = "connection"  # a customer order at an address already built


class TaskKind(StrEnum):
    drop_install = "drop_install"
    ont_mount = "ont_mount"
    light_level_test = "light_level_test"
    speed_test = "speed_test"
    photo_documentation = "photo_documentation"
    sign_off = "sign_off"
    custom = "custom"


class AssigneeType(StrEnum):
    crew = "crew"  # the operator's own field crew
    contractor = "contractor"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


class WorkOrderTemplate(Base):
    """One version of a template. Editing makes a new version; orders keep theirs."""

    __tablename__ = "work_order_templates"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        CheckConstraint(values_check("purpose", _values(Purpose)), name="purpose"),
        Index("uq_work_order_templates_current_key", "key", unique=True,
              postgresql_where=text("is_current")),
        # At most one live default per purpose: the template used when no rule matches.
        Index("uq_work_order_templates_default", "purpose", unique=True,
              postgresql_where=text("is_current AND is_default AND archived_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, nullable=False)  # stable across versions
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    # Rules are tried in ascending priority; the first template whose rule matches wins.
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("100"))
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                             server_default=text("false"))
    # {"all": [{"attribute": ..., "op": ..., "value": ...}, ...]}; see workorders/rules.py.
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                             server_default=text("true"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class TemplateTask(Base):
    __tablename__ = "work_order_template_tasks"
    __table_args__ = (
        CheckConstraint(values_check("kind", _values(TaskKind)), name="kind"),
        CheckConstraint(values_check("assignee_type", _values(AssigneeType)),
                        name="assignee_type"),
    )

    template_id: Mapped[int] = mapped_column(
        ForeignKey("work_order_templates.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_type: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_id: Mapped[str] = mapped_column(Text, nullable=False)
    # Evidence the task will require, with limits; see workorders/schemas.py.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text("'[]'::jsonb"))


OPEN_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in OPEN_WORK_ORDER_STATUSES)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint(values_check("status", _values(WorkOrderStatus)), name="status"),
        CheckConstraint(values_check("purpose", _values(Purpose)), name="purpose"),
        # Never twice: one open work order per address, whoever creates it.
        Index("uq_work_orders_open_address", "address_feature_id", unique=True,
              postgresql_where=text(f"status IN ({OPEN_STATUSES_SQL})")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address_feature_id: Mapped[int] = mapped_column(
        ForeignKey("addresses.feature_id"), nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("work_order_templates.id"),
                                             nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False,
                                        server_default=WorkOrderStatus.open.value)
    rework_count: Mapped[int] = mapped_column(Integer, nullable=False,
                                              server_default=text("0"))
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkOrderTask(Base):
    """A task of an order, keyed by its position in the template; what it is and what
    evidence it needs comes from the template version the order was made from."""

    __tablename__ = "work_order_tasks"
    __table_args__ = (
        CheckConstraint(values_check("status", _values(TaskStatus)), name="status"),
    )

    # No surrogate id: a deployment writes ~8 tasks per address and each index costs.
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_type: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_id: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False,
                                        server_default=TaskStatus.open.value)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(Text)
