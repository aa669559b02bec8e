"""Collections served as OGC API Features: addresses, areas, circuits, each one SQL query
with bbox, datetime and property filters and keyset paging (by id)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.queries.cql2 import cql2_where


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: str
    key: str  # the id column, also the paging key
    geometry: str | None
    properties: dict[str, str]  # property name -> SQL expression over alias t
    queryables: tuple[str, ...]  # properties that may be filtered by equality
    temporal: str | None  # column for `datetime`


COLLECTIONS = {c.id: c for c in (
    Collection("addresses", "Addresses", "IQGeo addresses with their physical status",
               "addresses", "feature_id", "location", {
                   "feature_id": "t.feature_id", "name": "t.name",
                   "street_number": "t.street_number", "street_name": "t.street_name",
                   "postcode": "t.postcode", "city": "t.city", "building": "t.building",
                   "status": "t.status", "circuit_id": "t.circuit_id",
                   "circuit_name": "t.circuit_name", "retired": "t.retired",
                   "updated_at": "t.updated_at"},
               ("status", "postcode", "city", "street_name", "circuit_id", "retired"),
               "updated_at"),
    Collection("areas", "Project areas", "Deployment areas and their status", "areas", "id",
               "geometry", {"id": "t.id", "name": "t.name", "status": "t.status",
                            "updated_at": "t.updated_at"}, ("status", "name"), "updated_at"),
    Collection("circuits", "Circuits", "FTTH circuits and the address each serves (no "
               "geometry)", "circuits", "feature_id", None, {
                   "feature_id": "t.feature_id", "name": "t.name",
                   "address_feature_id": "t.address_feature_id", "retired": "t.retired",
                   "updated_at": "t.updated_at"},
               ("name", "address_feature_id", "retired"), "updated_at"),
)}


@dataclass
class ItemQuery:
    limit: int = 10
    after: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    equals: dict[str, str] | None = None
    feature_id: int | None = None
    cql2: tuple[str, str] | None = None  # (expression, language)


def _select(collection: Collection) -> str:
    props = ", ".join(f"'{name}', {sql}" for name, sql in collection.properties.items())
    geometry = (f"ST_AsGeoJSON(t.{collection.geometry}, 7)::json" if collection.geometry
                else "NULL::json")
    return (f"SELECT json_build_object('type', 'Feature', 'id', t.{collection.key}, "
            f"'geometry', {geometry}, 'properties', json_build_object({props})) "
            f"FROM {collection.table} t")


def _where(collection: Collection, query: ItemQuery) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = ["true"]
    params: dict[str, Any] = {}
    if query.feature_id is not None:
        clauses.append(f"t.{collection.key} = :fid")
        params["fid"] = query.feature_id
    if query.after is not None:
        clauses.append(f"t.{collection.key} > :after")
        params["after"] = query.after
    if query.bbox and collection.geometry:
        clauses.append(f"t.{collection.geometry} && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        params.update(dict(zip("wsen", query.bbox, strict=True)))
    if collection.temporal and query.start:
        clauses.append(f"t.{collection.temporal} >= :start")
        params["start"] = query.start
    if collection.temporal and query.end:
        clauses.append(f"t.{collection.temporal} <= :end")
        params["end"] = query.end
    for index, (name, value) in enumerate((query.equals or {}).items()):
        # The column comes from the collection's own list; the value is bound.
        clauses.append(f"CAST({collection.properties[name]} AS text) = :v{index}")
        params[f"v{index}"] = value
    if query.cql2:
        clauses.append(cql2_where(*query.cql2, filter_columns(collection), params))
    return clauses, params


def filter_columns(collection: Collection) -> dict[str, str]:
    """What a CQL2 filter may name: every property, and the geometry as `geometry`."""
    geometry = {"geometry": f"t.{collection.geometry}"} if collection.geometry else {}
    return {**collection.properties, **geometry}


def items(session: Session, collection: Collection, query: ItemQuery) -> list[dict[str, Any]]:
    clauses, params = _where(collection, query)
    sql = (_select(collection) + " WHERE " + " AND ".join(clauses)
           + f" ORDER BY t.{collection.key} LIMIT :limit")
    params["limit"] = query.limit
    if not query.cql2:
        return [dict(row) for row in session.execute(text(sql), params).scalars()]
    # A filter that parses can still compare a number with text, or send a bad geometry.
    try:
        with session.begin_nested():
            return [dict(row) for row in session.execute(text(sql), params).scalars()]
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise InvalidInput(f"filter cannot be applied to {collection.id}: {reason}") from None


def spatial_extent(session: Session, collection: Collection) -> list[float] | None:
    if not collection.geometry:
        return None
    with session.begin_nested():  # without statistics PostGIS may refuse: say "the world"
        try:
            box = session.execute(text(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                f"ST_EstimatedExtent('{collection.table}', '{collection.geometry}')::box2d "
                f"AS e) s")).one_or_none()
        except DBAPIError:
            box = None
    if box is None or box[0] is None:
        return [-180.0, -90.0, 180.0, 90.0]
    return [float(v) for v in box]
