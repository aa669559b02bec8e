"""The IQGeo connector: settings, a typed error tree and an HTTP client."""

from sync.iqgeo.client import IQGeoClient
from sync.iqgeo.errors import (
    IQGeoAbort,
    IQGeoAuthError,
    IQGeoError,
    IQGeoNotFound,
    IQGeoProtocolError,
    IQGeoUnavailable,
)
from sync.iqgeo.settings import IQGeoSettings

__all__ = [
    "IQGeoAbort", "IQGeoAuthError", "IQGeoClient", "IQGeoError", "IQGeoNotFound",
    "IQGeoProtocolError", "IQGeoSettings", "IQGeoUnavailable",
]
