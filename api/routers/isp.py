"""Open access for ISPs (`/isp`): serviceable addresses, availability at one address.

ISPs see serviceability everywhere and only their own services (row-level security)."""

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from api.auth import Principal
from api.deps import ReadsDep, SessionDep, require_roles
from api.paging import GEOJSON, next_links
from api.problems import problem
from api.schemas.isp import (
    OrderRequest,
    PolygonSearch,
    SearchFilters,
    StatusQuery,
    parse_bbox,
    parse_ids,
    query_problem,
)
from gis.errors import NotFound
from gis.queries.serviceability import AddressSearch, availability, search_addresses
from gis.reads import Reads
from gis.status import Role
from services.orders import OrderInput, place_order

router = APIRouter(prefix="/isp", tags=["open access"])
Caller = Annotated[Principal, Depends(require_roles(Role.isp, Role.planner, Role.bss))]
# The searches read on the event loop (gis.reads): the busiest routes ISPs call.
Searcher = Annotated[Principal, Depends(require_roles(Role.isp, Role.planner, Role.bss,
                                                      reads=True))]
Orderer = Annotated[Principal, Depends(require_roles(Role.isp, admin=False))]


async def _collection(request: Request, reads: Reads, search: AddressSearch,
                      principal: Principal) -> Response:
    page = await search_addresses(reads, search, principal.isp_id)
    links = next_links(request, page.count, search.limit, page.last_id)
    body = (b'{"type":"FeatureCollection","features":' + page.features_json.encode()
            + b',"links":' + orjson.dumps(links)
            + b',"numberReturned":' + str(page.count).encode() + b"}")
    return Response(body, media_type=GEOJSON)


@router.get("/serviceable-addresses")
async def serviceable_addresses(
        request: Request, reads: ReadsDep, principal: Searcher,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        radius: Annotated[float | None, Query(description="metres")] = None,
        bbox: Annotated[str | None, Query(description="west,south,east,north")] = None,
        postcode: Annotated[str | None, Query(min_length=2, max_length=12)] = None,
        street: Annotated[str | None, Query(min_length=2, max_length=100,
                                            description="prefix; any case or accents")]
        = None,
        ids: Annotated[str | None, Query(description="comma-separated feature ids")] = None,
        status: StatusQuery = None,
        line: Annotated[Literal["free", "taken"] | None, Query()] = None,
        active_service: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: int | None = None) -> Response:
    """Serviceable addresses (ready_for_service or connected) as GeoJSON, in feature id
    order with a `next` link. Combine any of: point + radius, bbox, postcode, street
    prefix, ids; filter on status, line (free/taken) and active service."""
    point = None
    if (lon is None) != (lat is None) or (lon is not None and radius is None):
        raise query_problem("radius", "a point search needs lon, lat and radius together")
    if lon is not None and lat is not None and radius is not None:
        limit_m = request.app.state.settings.max_search_radius_m
        if not 0 < radius <= limit_m:
            raise query_problem("radius", f"radius must be more than 0 and at most {limit_m} m")
        point = (lon, lat)
    filters = SearchFilters(status=status or ["ready_for_service", "connected"],
                            line=line, active_service=active_service,
                            limit=limit, after=after)
    search = filters.search(point=point, radius_m=radius if point else None,
                            bbox=parse_bbox(bbox) if bbox else None, postcode=postcode,
                            street=street, ids=parse_ids(ids) if ids else None)
    return await _collection(request, reads, search, principal)


@router.post("/serviceable-addresses/search")
async def serviceable_in_polygon(request: Request, body: PolygonSearch, reads: ReadsDep,
                                 principal: Searcher) -> Response:
    """The same search inside a GeoJSON polygon (in the body)."""
    polygon = body.polygon(request.app.state.settings.max_area_vertices)
    return await _collection(request, reads, body.search(polygon=polygon), principal)


@router.post("/orders", status_code=201, response_model=None)
def order(request: Request, body: OrderRequest, session: SessionDep,
          principal: Orderer) -> dict[str, Any] | JSONResponse:
    """Order a service: `ordered` where the address is connected (provisioning is requested),
    `work_order` where it is built but not connected, refused (422, with the reason)
    otherwise. The same order_ref again returns the first answer."""
    assert principal.isp_id is not None
    outcome = place_order(session, OrderInput(principal.isp_id, body.order_ref, body.address,
                                              body.product, body.subscriber),
                          request.app.state.settings.products)
    result = outcome.as_dict()
    if outcome.order.outcome == "refused":  # kept (and committed) for the metric
        return problem(422, result["reason"], instance=request.url.path,
                       extensions={"refusal": result["refusal"]})
    if outcome.replayed:
        return JSONResponse(jsonable_encoder(result), status_code=200)
    return result


@router.get("/addresses/{feature_id}/availability")
def get_availability(request: Request, feature_id: int, session: SessionDep,
                     principal: Caller) -> dict[str, Any]:
    """Serviceable or not and why, the physical status, ONT, circuit, the fastest product
    the network offers there, and whether the line is free or taken (never by whom)."""
    products = request.app.state.settings.products
    fastest = max(products, key=lambda name: float(products[name].split("/")[0]))
    found = availability(session, feature_id, principal.isp_id,
                         {"product": fastest, "speed_profile": products[fastest]})
    if found is None:
        raise NotFound(f"address {feature_id} does not exist")
    return found
