"""Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.pbf`) for the planner's map, behind the keys."""

from typing import Annotated

import xxhash
from fastapi import APIRouter, Depends, Header, Request, Response

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.notified_cache import CachedTile, TileCache
from gis import tiles
from gis.status import Role

router = APIRouter(prefix="/tiles", tags=["map"])
Viewer = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]
MVT = "application/vnd.mapbox-vector-tile"


@router.get("/{layer}/{z}/{x}/{y}.pbf", response_class=Response)
def get_tile(request: Request, layer: str, z: int, x: int, y: int, session: SessionDep,
             _: Viewer, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """A Mapbox vector tile of `addresses` (aggregated below zoom 14), `areas` or `circuits`.
    An `ETag` lets the map revalidate cheaply (304)."""
    cache: TileCache | None = request.app.state.tile_cache
    key = (layer, z, x, y)
    cached = cache.get(key) if cache else None
    if cached is None:
        generation = cache.generation if cache else 0  # read before the tile's snapshot
        data = tiles.tile(session, layer, z, x, y)
        cached = CachedTile(data, f'"{xxhash.xxh3_64_hexdigest(data)}"')
        if cache:
            cache.put(key, generation, cached)
        hit = "miss"
    else:
        hit = "hit"
    headers = {"ETag": cached.etag, "X-Tile-Cache": hit,
               "Cache-Control": "private, no-cache"}
    if if_none_match == cached.etag:
        return Response(status_code=304, headers=headers)
    return Response(cached.data, media_type=MVT, headers=headers)
