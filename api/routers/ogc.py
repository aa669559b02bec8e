"""OGC API Features (`/ogc`): addresses, areas and circuits for GIS tools (QGIS, GDAL's
OAPIF driver), behind the same keys. Nothing ISP-owned is published here."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.paging import GEOJSON, next_links
from api.schemas.isp import parse_bbox
from gis.errors import InvalidInput, NotFound
from gis.queries.features import COLLECTIONS, Collection, ItemQuery, items, spatial_extent
from gis.status import Role

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss, Role.isp))]
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]
RESERVED = {"limit", "bbox", "datetime", "after", "f", "bbox-crs", "crs", "filter",
            "filter-lang", "filter-crs"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _collection(collection_id: str) -> Collection:
    if collection_id not in COLLECTIONS:
        raise NotFound(f"collection {collection_id!r} does not exist; one of "
                       + ", ".join(COLLECTIONS))
    return COLLECTIONS[collection_id]


@router.get("")
def landing(request: Request, _: Reader) -> dict[str, Any]:
    base = _base(request)
    return {"title": "FiberSync", "description": "FTTH addresses, areas and circuits",
            "links": [
                {"rel": "self", "href": base, "type": "application/json"},
                {"rel": "conformance", "href": f"{base}/conformance",
                 "type": "application/json"},
                {"rel": "data", "href": f"{base}/collections", "type": "application/json"},
                {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
                 "href": str(request.base_url).rstrip("/") + "/openapi.json"}]}


@router.get("/conformance")
def conformance(_: Reader) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _describe(request: Request, session: SessionDep, collection: Collection) -> dict[str, Any]:
    href = f"{_base(request)}/collections/{collection.id}"
    extent = spatial_extent(session, collection)
    body: dict[str, Any] = {
        "id": collection.id, "title": collection.title,
        "description": collection.description, "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [{"rel": "self", "href": href, "type": "application/json"},
                  {"rel": "items", "href": f"{href}/items", "type": GEOJSON}]}
    if extent:
        body["extent"] = {"spatial": {"bbox": [extent],
                                      "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    return body


@router.get("/collections")
def collections(request: Request, session: SessionDep, _: Reader) -> dict[str, Any]:
    return {"collections": [_describe(request, session, c) for c in COLLECTIONS.values()],
            "links": [{"rel": "self", "href": f"{_base(request)}/collections",
                       "type": "application/json"}]}


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, session: SessionDep,
               _: Reader) -> dict[str, Any]:
    return _describe(request, session, _collection(collection_id))


def _interval(raw: str | None) -> tuple[datetime | None, datetime | None]:
    if not raw:
        return None, None
    try:
        parts = [None if p in ("", "..") else datetime.fromisoformat(p)
                 for p in raw.split("/")]
    except ValueError:
        raise InvalidInput(f"datetime {raw!r} is not an RFC 3339 instant or interval") from None
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[-1])


@router.get("/collections/{collection_id}/queryables")
def queryables(collection_id: str, request: Request, _: Reader) -> JSONResponse:
    """What a `filter` may name (JSON Schema, OGC API Features Part 3)."""
    chosen = _collection(collection_id)
    href = f"{_base(request)}/collections/{collection_id}/queryables"
    properties: dict[str, Any] = {name: {} for name in chosen.properties}
    if chosen.geometry:
        properties["geometry"] = {"format": "geometry-any"}
    return JSONResponse({"$schema": "https://json-schema.org/draft/2019-09/schema",
                         "$id": href, "type": "object", "title": chosen.title,
                         "properties": properties, "additionalProperties": False},
                        media_type="application/schema+json")


@router.get("/collections/{collection_id}/items")
def collection_items(collection_id: str, request: Request, session: SessionDep, _: Reader,
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 10,
                     bbox: str | None = None, datetime: str | None = None,
                     after: int | None = None,
                     cql2: Annotated[str | None, Query(
                         alias="filter",
                         description="a CQL2 expression (OGC API Features Part 3)")] = None,
                     filter_lang: Annotated[str, Query(alias="filter-lang")] = "cql2-text",
                     ) -> JSONResponse:
    """Features with `bbox`, `datetime` (last update), equality filters on the
    collection's properties (e.g. `?status=connected`) and a CQL2 `filter` (text or JSON,
    `filter-lang`), paged by a `next` link."""
    chosen = _collection(collection_id)
    equals = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    unknown = set(equals) - set(chosen.queryables)
    if unknown:
        raise InvalidInput(f"cannot filter {collection_id} on {', '.join(sorted(unknown))}; "
                           f"queryable: {', '.join(chosen.queryables)}")
    start, end = _interval(datetime)
    features = items(session, chosen, ItemQuery(
        limit, after, parse_bbox(bbox) if bbox else None, start, end, equals,
        cql2=(cql2, filter_lang) if cql2 else None))
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON},
             *next_links(request, len(features), limit,
                         features[-1]["id"] if features else None)]
    return JSONResponse({"type": "FeatureCollection", "features": features,
                         "numberReturned": len(features), "links": links},
                        media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}")
def collection_item(collection_id: str, feature_id: int, request: Request,
                    session: SessionDep, _: Reader) -> JSONResponse:
    found = items(session, _collection(collection_id), ItemQuery(limit=1,
                                                                 feature_id=feature_id))
    if not found:
        raise NotFound(f"{collection_id} has no feature {feature_id}")
    found[0]["links"] = [{"rel": "self", "href": str(request.url), "type": GEOJSON},
                         {"rel": "collection", "type": "application/json",
                          "href": f"{_base(request)}/collections/{collection_id}"}]
    return JSONResponse(found[0], media_type=GEOJSON)
