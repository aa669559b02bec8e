"""Area files (GeoPackage, zipped Shapefile, GeoJSON) read with pyogrio, one area per feature."""

import io
import tempfile
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput

FORMATS = {".gpkg": "GeoPackage", ".zip": "zipped Shapefile", ".geojson": "GeoJSON",
           ".json": "GeoJSON"}


@dataclass
class RawFeature:
    """A feature as read, before validation: its geometry may be anything, or missing."""

    name: str | None
    geometry: BaseGeometry | None
    properties: dict[str, Any]


@dataclass
class RawLayer:
    crs: str | None  # as the file names it; None when it names none
    features: list[RawFeature]


def _suffix(filename: str) -> str:
    lowered = filename.lower()
    for suffix in FORMATS:
        if lowered.endswith(suffix):
            return suffix
    raise InvalidInput(f"{filename!r} is not a supported file; send one of: "
                       + ", ".join(f"{name} ({suffix})" for suffix, name in FORMATS.items()))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.hex()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def read_layer(data: bytes, filename: str, name_field: str, layer: str | None) -> RawLayer:
    """Reads the first (or the named) layer. Raises InvalidInput if the file cannot be read."""
    suffix = _suffix(filename)
    if suffix == ".zip" and not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput(f"{filename!r} is not a zip archive")
    # A named file, so GDAL picks its driver by extension as it would for a planner's file.
    with tempfile.NamedTemporaryFile(suffix=suffix) as spooled:
        spooled.write(data)
        spooled.flush()
        try:
            meta, _, wkbs, columns = pyogrio.raw.read(spooled.name, layer=layer)
        except (DataSourceError, DataLayerError) as error:
            raise InvalidInput(f"{filename!r} could not be read: "
                               f"{str(error).replace(spooled.name, filename)}") from error
    fields = [str(f) for f in meta["fields"]]
    if name_field not in fields:
        raise InvalidInput(f"{filename!r} has no attribute {name_field!r} to name the areas; "
                           f"its attributes are: {', '.join(fields) or 'none'}")
    geometries = shapely.from_wkb(wkbs) if wkbs is not None else [None] * len(columns[0])
    features = []
    for index, geometry in enumerate(geometries):
        properties = {f: _plain(columns[i][index]) for i, f in enumerate(fields)}
        name = properties.get(name_field)
        features.append(RawFeature(None if name in (None, "") else str(name),
                                   geometry, properties))
    return RawLayer(meta.get("crs"), features)
