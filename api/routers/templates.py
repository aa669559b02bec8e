"""Work order templates (`/work-order-templates`): versioned, edited by admins and planners."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.schemas.workorders import NewTemplate
from gis.status import Role
from workorders import templates
from workorders.schemas import TemplateSpec

router = APIRouter(prefix="/work-order-templates", tags=["work orders"])
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]
Editor = Annotated[Principal, Depends(require_roles(Role.planner))]


@router.get("")
def list_templates(session: SessionDep, _: Reader,
                   include_archived: bool = False) -> list[dict[str, Any]]:
    """The current version of every template."""
    return [templates.template_document(session, t)
            for t in templates.list_templates(session, include_archived)]


@router.post("", status_code=201)
def create_template(body: NewTemplate, session: SessionDep,
                    principal: Editor) -> dict[str, Any]:
    spec = TemplateSpec.model_validate(body.model_dump(exclude={"key"}))
    template = templates.create_template(session, body.key, spec, f"api key {principal.name}")
    return templates.template_document(session, template)


@router.get("/{key}")
def get_template(key: str, session: SessionDep, _: Reader,
                 version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """The current version, or the one asked for (work orders name theirs)."""
    return templates.template_document(session, templates.get_template(session, key, version))


@router.put("/{key}")
def revise_template(key: str, body: TemplateSpec, session: SessionDep,
                    principal: Editor) -> dict[str, Any]:
    """Saves a new version; work orders already made keep the version they were made from."""
    template = templates.revise_template(session, key, body, f"api key {principal.name}")
    return templates.template_document(session, template)


@router.delete("/{key}")
def archive_template(key: str, session: SessionDep, _: Editor) -> dict[str, Any]:
    """Archives the template: no new orders from it; existing orders keep it."""
    return templates.template_document(session, templates.archive_template(session, key))
