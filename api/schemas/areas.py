"""Request bodies for areas: a GeoJSON Feature (or FeatureCollection) and a transition."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.status import AreaStatus


class GeoJSONFeature(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None = None


class AreaDocument(BaseModel):
    """A Feature or FeatureCollection; `crs` is the 2008 GeoJSON member naming the CRS."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature", "FeatureCollection"]
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    features: list[GeoJSONFeature] | None = None
    crs: dict[str, Any] | None = Field(None, examples=[
        {"type": "name", "properties": {"name": "EPSG:27700"}}])

    def crs_name(self) -> str | None:
        if not self.crs:
            return None
        name = (self.crs.get("properties") or {}).get("name")
        return str(name) if name else None

    def feature_list(self) -> list[GeoJSONFeature]:
        if self.type == "FeatureCollection":
            return self.features or []
        return [GeoJSONFeature(type="Feature", geometry=self.geometry,
                               properties=self.properties)]


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: AreaStatus
    dry_run: bool = False
    reason: str | None = Field(None, max_length=1000)
