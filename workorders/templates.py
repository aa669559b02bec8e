"""Work order templates: create, revise (a new version each time), archive, read."""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from workorders.models import Purpose, TemplateTask, WorkOrderTemplate
from workorders.rules import CompiledChoice, compile_choice
from workorders.schemas import Rule, TemplateSpec, dump_evidence


def _current(session: Session, key: str, *, lock: bool = False) -> WorkOrderTemplate:
    query = select(WorkOrderTemplate).where(WorkOrderTemplate.key == key,
                                            WorkOrderTemplate.is_current)
    template = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if template is None:
        raise NotFound(f"work order template {key!r} does not exist")
    return template


def _check_default_free(session: Session, spec: TemplateSpec, key: str) -> None:
    if not spec.is_default:
        return
    holder = session.scalar(select(WorkOrderTemplate.key).where(
        WorkOrderTemplate.purpose == spec.purpose.value, WorkOrderTemplate.is_default,
        WorkOrderTemplate.is_current, WorkOrderTemplate.archived_at.is_(None),
        WorkOrderTemplate.key != key))
    if holder is not None:
        raise Conflict(f"template {holder!r} is already the default for {spec.purpose.value} "
                       "work orders; make it non-default first")


def _insert_version(session: Session, key: str, version: int, spec: TemplateSpec,
                    actor: str) -> WorkOrderTemplate:
    template = WorkOrderTemplate(
        key=key, version=version, name=spec.name, description=spec.description,
        purpose=spec.purpose.value, priority=spec.priority, is_default=spec.is_default,
        rule=spec.rule.model_dump() if spec.rule else None, created_by=actor,
        completes_to=spec.completes_to or ("connected" if spec.purpose is Purpose.connection
                                           else "ready_for_service"))
    session.add(template)
    session.flush()
    session.add_all(TemplateTask(
        template_id=template.id, position=position, kind=task.kind.value, name=task.name,
        assignee_type=task.assignee.type.value, assignee_id=task.assignee.id,
        skippable=task.skippable, evidence=dump_evidence(task))
        for position, task in enumerate(spec.tasks, start=1))
    session.flush()
    return template


def create_template(session: Session, key: str, spec: TemplateSpec,
                    actor: str) -> WorkOrderTemplate:
    """Version 1 of a new template. Raises Conflict if the key was ever used."""
    if session.scalar(select(func.count()).where(WorkOrderTemplate.key == key)):
        raise Conflict(f"work order template {key!r} already exists; PUT revises it")
    _check_default_free(session, spec, key)
    return _insert_version(session, key, 1, spec, actor)


def revise_template(session: Session, key: str, spec: TemplateSpec,
                    actor: str) -> WorkOrderTemplate:
    """A new version; orders made from earlier versions keep theirs."""
    current = _current(session, key, lock=True)
    if current.archived_at is not None:
        raise Conflict(f"work order template {key!r} is archived")
    _check_default_free(session, spec, key)
    current.is_current = False
    session.flush()
    return _insert_version(session, key, current.version + 1, spec, actor)


def archive_template(session: Session, key: str) -> WorkOrderTemplate:
    """No new orders from it; existing orders keep it. Archiving twice changes nothing."""
    current = _current(session, key, lock=True)
    if current.archived_at is None:
        session.execute(update(WorkOrderTemplate).where(WorkOrderTemplate.id == current.id)
                        .values(archived_at=func.now()))
        session.refresh(current)
    return current


def get_template(session: Session, key: str, version: int | None = None) -> WorkOrderTemplate:
    if version is None:
        return _current(session, key)
    template = session.scalars(select(WorkOrderTemplate).where(
        WorkOrderTemplate.key == key, WorkOrderTemplate.version == version)).one_or_none()
    if template is None:
        raise NotFound(f"work order template {key!r} has no version {version}")
    return template


def list_templates(session: Session, include_archived: bool = False) -> list[WorkOrderTemplate]:
    query = select(WorkOrderTemplate).where(WorkOrderTemplate.is_current)
    if not include_archived:
        query = query.where(WorkOrderTemplate.archived_at.is_(None))
    return list(session.scalars(query.order_by(WorkOrderTemplate.purpose,
                                               WorkOrderTemplate.priority,
                                               WorkOrderTemplate.key)))


def tasks_of(session: Session, template_id: int) -> list[TemplateTask]:
    return list(session.scalars(select(TemplateTask).where(
        TemplateTask.template_id == template_id).order_by(TemplateTask.position)))


def template_document(session: Session, template: WorkOrderTemplate) -> dict[str, Any]:
    tasks = [{"position": t.position, "kind": t.kind, "name": t.name,
              "assignee": {"type": t.assignee_type, "id": t.assignee_id},
              "skippable": t.skippable, "evidence": t.evidence}
             for t in tasks_of(session, template.id)]
    return {"id": template.id, "key": template.key, "version": template.version,
            "name": template.name, "description": template.description,
            "purpose": template.purpose, "priority": template.priority,
            "is_default": template.is_default, "rule": template.rule,
            "completes_to": template.completes_to,
            "archived": template.archived_at is not None,
            "created_by": template.created_by, "created_at": template.created_at,
            "tasks": tasks}


def template_choice(session: Session, purpose: Purpose) -> CompiledChoice:
    """The SQL that picks a live template for each address. Raises Conflict without a default."""
    live = list(session.scalars(select(WorkOrderTemplate).where(
        WorkOrderTemplate.purpose == purpose.value, WorkOrderTemplate.is_current,
        WorkOrderTemplate.archived_at.is_(None)).order_by(
        WorkOrderTemplate.priority, WorkOrderTemplate.id)))
    default = next((t for t in live if t.is_default), None)
    if default is None:
        raise Conflict(f"there is no default {purpose.value} work order template; "
                       "mark one as default")
    ruled = [(t.id, Rule.model_validate(t.rule)) for t in live if t.rule]
    return compile_choice(ruled, default.id)
