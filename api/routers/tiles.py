"""Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.pbf`) for the planner's map, behind the keys."""

from typing import Annotated

import xxhash
from fastapi import APIRouter, Depends, Header, Response

from api.auth import Principal
from api.deps import SessionDep, require_roles
from gis import tiles
from gis.status import Role

router = APIRouter(prefix="/tiles", tags=["map"])
Viewer = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]
MVT = "application/vnd.mapbox-vector-tile"


@router.get("/{layer}/{z}/{x}/{y}.pbf", response_class=Response)
def get_tile(layer: str, z: int, x: int, y: int, session: SessionDep, _: Viewer,
             if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """A Mapbox vector tile of `addresses` (aggregated below zoom 14), `areas` or `circuits`.
    An `ETag` lets the map revalidate cheaply (304)."""
    data = tiles.tile(session, layer, z, x, y)
    etag = f'"{xxhash.xxh3_64_hexdigest(data)}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=30, must-revalidate"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
