"""Project areas (`/areas`): create from GeoJSON or a file, read with counts, transition."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.paging import next_links
from api.schemas.areas import AreaDocument, TransitionRequest
from gis import areas
from gis.areas import AreaInput
from gis.errors import InvalidInput
from gis.geometry import GeometryProblem, geometry_from_geojson, parse_crs
from gis.status import AreaStatus, Role
from gis.uploads import RawFeature, read_layer
from workorders.deployment import transition_area

router = APIRouter(prefix="/areas", tags=["areas"])
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]
Planner = Annotated[Principal, Depends(require_roles(Role.planner))]


def _crs(name: str | None) -> Any:
    try:
        return parse_crs(name)
    except GeometryProblem as problem:
        raise InvalidInput(str(problem), [{"location": ["crs"], "message": str(problem)}]) \
            from problem


def _raw(feature: Any, index: int) -> RawFeature:
    try:
        geometry = geometry_from_geojson(feature.geometry)
    except GeometryProblem as problem:
        raise InvalidInput(f"area {index} is not valid; nothing was saved",
                           [{"feature": index, "message": str(problem)}]) from problem
    return RawFeature(None, geometry, feature.properties or {})


def _named(features: list[RawFeature], name_field: str, crs: Any) -> list[AreaInput]:
    missing = [{"feature": i, "message": f"the feature has no {name_field!r} attribute"}
               for i, f in enumerate(features) if f.properties.get(name_field) in (None, "")]
    if missing:
        raise InvalidInput("every area needs a name; nothing was saved", missing)
    return [AreaInput(str(f.properties[name_field]), f, crs) for f in features]


def _created(session: SessionDep, ids: list[int]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": areas.area_features(session, ids)}


@router.post("", status_code=201)
def create_areas(request: Request, session: SessionDep, principal: Planner,
                 body: AreaDocument,
                 crs: Annotated[str | None, Query(description="CRS of the coordinates, "
                                                  "e.g. EPSG:27700; default EPSG:4326")] = None,
                 name_field: Annotated[str, Query()] = "name") -> dict[str, Any]:
    """One area per GeoJSON Feature; all are saved, or none if any is wrong."""
    source_crs = _crs(crs or body.crs_name())
    features = [_raw(f, i) for i, f in enumerate(body.feature_list())]
    created = areas.create_areas(session, _named(features, name_field, source_crs),
                                 f"api key {principal.name}",
                                 request.app.state.settings.max_area_vertices)
    return _created(session, [a.id for a in created])


@router.post("/uploads", status_code=201)
def upload_areas(request: Request, session: SessionDep, principal: Planner,
                 file: Annotated[UploadFile, File(description="GeoPackage, zipped Shapefile "
                                                  "or GeoJSON")],
                 name_field: Annotated[str, Form()] = "name",
                 crs: Annotated[str | None, Form(description="only if the file names none")]
                 = None,
                 layer: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """One area per feature of the file's first (or named) layer; all or nothing."""
    limit = request.app.state.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"the file is larger than the limit of {limit} bytes",
                           [{"location": ["file"], "message": "file too large"}])
    raw = read_layer(data, file.filename or "upload", name_field, layer)
    if raw.crs and crs:
        raise InvalidInput(f"the file names its CRS ({raw.crs}); do not pass crs as well")
    source_crs = _crs(raw.crs or crs)
    created = areas.create_areas(session, _named(raw.features, name_field, source_crs),
                                 f"api key {principal.name}",
                                 request.app.state.settings.max_area_vertices)
    return _created(session, [a.id for a in created])


@router.get("")
def list_areas(request: Request, session: SessionDep, _: Reader,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               after: Annotated[int | None, Query(description="area id to page after")] = None,
               status: AreaStatus | None = None) -> dict[str, Any]:
    features = areas.list_area_features(session, limit, after,
                                        status.value if status else None)
    links = next_links(request, len(features), limit, features[-1]["id"] if features else None)
    return {"type": "FeatureCollection", "features": features, "links": links}


@router.get("/{area_id}")
def get_area(area_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    """The area with its addresses by status and its work orders by status."""
    return areas.area_feature(session, area_id)


@router.post("/{area_id}/transition")
def transition(area_id: int, body: TransitionRequest, session: SessionDep,
               principal: Planner) -> dict[str, Any]:
    """Move the area one step. `in_deployment` moves its addresses and creates their work
    orders; `dry_run` returns the same counts and writes nothing."""
    outcome = transition_area(session, area_id, body.to, f"api key {principal.name}",
                              body.reason, dry_run=body.dry_run)
    return outcome.as_dict()
