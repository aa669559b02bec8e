"""Decoding a page of IQGeo features: only the members the import reads.

msgspec decodes straight into a small struct and skips what the import never reads (`myw`,
`bbox`): half the cost of building every member as dicts, measured on the simulator's
pages. Every member is typed `Any`, so a wrong type is still decoded and then quarantined
with its reason by the validation in `features.py`; a page whose features are not all
objects is decoded again member by member.
"""

from typing import Any

import msgspec

from sync.iqgeo import IQGeoProtocolError


class WireFeature(msgspec.Struct, omit_defaults=True):
    """The parts of a GeoJSON feature the import reads, with dict-like `get`."""

    type: Any = None
    id: Any = None
    properties: Any = None

    def get(self, member: str, default: Any = None) -> Any:
        return getattr(self, member, default)


class WirePoint(WireFeature, omit_defaults=True):
    """An address: its geometry too (a circuit's line is not imported)."""

    geometry: Any = None
    crs: Any = None


def _decoders(feature: type[WireFeature]) -> tuple[msgspec.json.Decoder[Any], ...]:
    strict = msgspec.defstruct("Page", [("features", list[feature]),  # type: ignore[valid-type]
                                        ("unlimited_count", Any, None)])
    loose = msgspec.defstruct("LoosePage", [("features", list[Any]),
                                            ("unlimited_count", Any, None)])
    return msgspec.json.Decoder(strict), msgspec.json.Decoder(loose)


_DECODERS = {WireFeature: _decoders(WireFeature), WirePoint: _decoders(WirePoint)}


def decode_page(content: bytes, feature_type: str, wire: type[WireFeature] = WirePoint
                ) -> tuple[list[Any], int | None]:
    """(features, the layer size when IQGeo said it). A feature that is an object comes
    back as a `wire` struct; anything else as it was, for the caller to reject."""
    strict, loose = _DECODERS[wire]
    try:
        page = strict.decode(content)
        features = page.features
    except msgspec.ValidationError:
        try:
            page = loose.decode(content)
        except msgspec.DecodeError as error:
            raise IQGeoProtocolError(f"list of {feature_type} has no 'features' array: "
                                     f"{error}") from None
        features = [_wire(f, wire) for f in page.features]
    except msgspec.DecodeError as error:
        raise IQGeoProtocolError(f"reply is not JSON: {error}") from None
    total = page.unlimited_count
    return features, total if type(total) is int else None


def _wire(feature: Any, wire: type[WireFeature]) -> Any:
    if not isinstance(feature, dict):
        return feature
    return wire(**{k: feature.get(k) for k in wire.__struct_fields__})


def as_json(feature: Any) -> bytes:
    """A feature as read, for the quarantine."""
    return msgspec.json.encode(feature, enc_hook=str)
