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
    ForeignKeyConstraint,
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
        CheckConstraint("completes_to IN ('ready_for_service', 'connected')",
                        name="completes_to"),
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
    # Where the address goes when an order from this template completes.
    completes_to: Mapped[str] = mapped_column(Text, nullable=False,
                                              server_default="ready_for_service")
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
    skippable: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                            server_default=text("false"))
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
                                              server_default=text("0"))  # reopenings
    scheduled_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_crew: Mapped[str | None] = mapped_column(Text)
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
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
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(Text)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    # A supervisor's waiver of the evidence rules, with a reason code.
    override_code: Mapped[str | None] = mapped_column(Text)
    override_note: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(Text)


class TaskEvidence(Base):
    """A reading, a photo, a note or a serial number captured for a task."""

    __tablename__ = "task_evidence"
    __table_args__ = (
        ForeignKeyConstraint(["work_order_id", "position"],
                             ["work_order_tasks.work_order_id", "work_order_tasks.position"],
                             ondelete="CASCADE"),
        Index("ix_task_evidence_task", "work_order_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Photos: the file is in the evidence store under its SHA-256.
    sha256: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = created_at_column()


class WorkOrderChange(Base):
    """The work order's history: who changed what, when, from what to what."""

    __tablename__ = "work_order_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int | None] = mapped_column(Integer)  # the task, if it is about one
    action: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = created_at_column()


class InstallationRecord(Base):
    """What was installed at an address, written once at completion and never changed
    (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "installation_records"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address_feature_id: Mapped[int] = mapped_column(ForeignKey("addresses.feature_id"),
                                                    nullable=False, index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False)
    record: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class IdempotentRequest(Base):
    """A request's reply kept under its Idempotency-Key, so a double submit acts once."""

    __tablename__ = "idempotent_requests"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[Any] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
