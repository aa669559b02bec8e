"""Fingerprints and field parsing of IQGeo features."""

import pytest

from sync.importing.features import AddressMapping, content_hash, parse_address_ref
from sync.iqgeo import IQGeoSettings


def feature(**props):
    return {"type": "Feature", "id": 1, "geometry": {"type": "Point", "coordinates": [0.1, 52]},
            "properties": {"id": 1, "name": "1 Milton Road", **props}}


def test_content_hash_is_stable_signed_and_fits_bigint():
    values = [("a", None, 1.5), {"b": 2}]
    assert content_hash(values) == content_hash([("a", None, 1.5), {"b": 2}])
    assert content_hash(values) != content_hash([("a", None, 1.25), {"b": 2}])
    hashes = [content_hash(i) for i in range(2000)]
    assert all(-(2**63) <= h < 2**63 for h in hashes)
    assert any(h < 0 for h in hashes) and len(set(hashes)) == 2000


def test_fingerprint_covers_imported_fields_only():
    mapping = AddressMapping(IQGeoSettings())
    base = mapping.fingerprint(feature(service_status="New"))
    assert mapping.fingerprint(feature(service_status="In Service")) == base
    assert mapping.fingerprint(feature(service_status="New", postcode="CB4")) != base
    moved = feature(service_status="New")
    moved["geometry"]["coordinates"] = [0.2, 52]
    assert mapping.fingerprint(moved) != base


@pytest.mark.parametrize(("raw", "expected"), [
    ("2618", 2618), ("address/2618", 2618), ("address/7?x=1", 7), (" 12 ", 12),
    ("", None), (None, None), ("address/abc", None), ("0", None)])
def test_circuit_address_references(raw, expected):
    assert parse_address_ref(raw) == expected
