"""Prometheus metrics and the OpenAPI document, both behind a key."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import Principal
from api.deps import CurrentPrincipal, require_roles
from gis.status import Role

router = APIRouter(tags=["meta"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request,
            _: Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]
            ) -> Response:
    """Operator metrics; they count every ISP's orders, so ISP and technician keys get 403."""
    request.app.state.metrics.refresh(request.app.state.engine)
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: CurrentPrincipal) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema
