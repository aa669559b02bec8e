"""Query parameters and bodies of the ISP routes, checked into an AddressSearch."""

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from gis.errors import InvalidInput
from gis.geometry import GeometryProblem, geometry_from_geojson, parse_crs, to_area_geometry
from gis.queries.serviceability import AddressSearch

Status = Literal["ready_for_service", "connected"]


def query_problem(location: str, message: str) -> InvalidInput:
    return InvalidInput(message, [{"location": ["query", location], "message": message}])


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(part) for part in raw.split(","))
    except ValueError:
        raise query_problem("bbox", "bbox must be four numbers: west,south,east,north") from None
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90
            and -90 <= north <= 90):
        raise query_problem("bbox", f"bbox {raw} is out of range (longitude -180..180, "
                               "latitude -90..90)")
    if west >= east or south >= north:
        raise query_problem("bbox", f"bbox {raw} is inverted or empty: west < east and "
                               "south < north")
    return west, south, east, north


def parse_ids(raw: str) -> list[int]:
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise query_problem("ids", "ids must be comma-separated feature ids") from None
    if not ids or len(ids) > 1000:
        raise query_problem("ids", "give between 1 and 1000 feature ids")
    return ids


def _serviceable() -> list[Status]:
    return ["ready_for_service", "connected"]


class SearchFilters(BaseModel):
    """What every search form shares: filters and paging."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=_serviceable)
    line: Literal["free", "taken"] | None = None
    active_service: bool | None = None
    limit: int = Field(100, ge=1, le=1000)
    after: int | None = None

    def search(self, **selectors: Any) -> AddressSearch:
        return AddressSearch(statuses=tuple(self.status), limit=self.limit, after=self.after,
                             line_taken=None if self.line is None else self.line == "taken",
                             active_service=self.active_service, **selectors)


class PolygonSearch(SearchFilters):
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, EPSG:4326")

    def polygon(self, max_vertices: int) -> str:
        import shapely

        try:
            shape = to_area_geometry(geometry_from_geojson(self.geometry), parse_crs(None),
                                     max_vertices)
        except GeometryProblem as problem:
            raise InvalidInput(str(problem), [{"location": ["body", "geometry"],
                                               "message": str(problem)}]) from None
        return str(shapely.to_geojson(shape))


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ref: str = Field(min_length=1, max_length=100)
    address: int
    product: str = Field(min_length=1, max_length=100)
    subscriber: str | None = Field(None, max_length=200)


StatusQuery = Annotated[list[Status] | None, Query()]
