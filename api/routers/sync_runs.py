"""Starting and following IQGeo imports (`/sync/runs`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.schemas.sync import QuarantinedOut, SyncRunOut, SyncRunRequest
from gis.errors import NotFound, UpstreamUnavailable
from gis.models import QuarantinedFeature, SyncRun
from gis.status import Role
from sync.importing.background import start_sync_in_background

router = APIRouter(prefix="/sync/runs", tags=["sync"])
Operator = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]


@router.post("", status_code=202, response_model=SyncRunOut)
def start_run(request: Request, session: SessionDep, principal: Operator,
              body: SyncRunRequest | None = None) -> SyncRunOut:
    """Start an import now; 409 while another one runs. Follow it at `GET /sync/runs/{id}`."""
    settings = request.app.state.iqgeo_settings
    if not settings.url:
        raise UpstreamUnavailable("IQGeo is not configured (IQGEO_URL is not set)")
    full = body.full if body else False
    run_id, _ = start_sync_in_background(request.app.state.settings.database_url, settings,
                                         full, f"api key {principal.name}")
    return _run(session, run_id)


@router.get("", response_model=list[SyncRunOut])
def list_runs(session: SessionDep, _: Operator,
              limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[SyncRunOut]:
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit))
    return [SyncRunOut.of(run) for run in runs]


@router.get("/{run_id}", response_model=SyncRunOut)
def get_run(run_id: int, session: SessionDep, _: Operator) -> SyncRunOut:
    return _run(session, run_id)


@router.get("/{run_id}/quarantine", response_model=list[QuarantinedOut])
def get_quarantine(run_id: int, session: SessionDep, _: Operator,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> list[QuarantinedOut]:
    """Features this run refused, with the reason."""
    _run(session, run_id)
    rows = session.scalars(select(QuarantinedFeature)
                           .where(QuarantinedFeature.sync_run_id == run_id)
                           .order_by(QuarantinedFeature.id).limit(limit).offset(offset))
    return [QuarantinedOut.model_validate(row, from_attributes=True) for row in rows]


def _run(session: SessionDep, run_id: int) -> SyncRunOut:
    run = session.get(SyncRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"sync run {run_id} does not exist")
    return SyncRunOut.of(run)
