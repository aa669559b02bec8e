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


def test_a_page_decodes_to_what_the_import_reads_with_the_same_fingerprint():
    import orjson

    from sync.importing.wire import WireFeature, decode_page

    page = {"features": [{**feature(), "myw": {"title": "x"}, "bbox": [0.1, 52, 0.1, 52]}],
            "unlimited_count": 7}
    features, total = decode_page(orjson.dumps(page), "address")
    assert total == 7 and isinstance(features[0], WireFeature)
    assert features[0].get("myw") is None and features[0].get("properties")["name"]
    mapping = AddressMapping(IQGeoSettings())
    # hashes stored by earlier versions (from dicts) stay valid
    assert mapping.fingerprint(features[0]) == mapping.fingerprint(feature())


def test_a_page_with_members_that_are_not_objects_still_decodes():
    import orjson

    from sync.importing.classify import classify_page
    from sync.importing.hash_index import HashIndex
    from sync.importing.wire import decode_page
    from sync.iqgeo import IQGeoProtocolError

    content = orjson.dumps({"features": [feature(), 5, None, {**feature(), "id": 2}]})
    features, total = decode_page(content, "address")
    assert total is None and features[1:3] == [5, None]
    result = classify_page(features, AddressMapping(IQGeoSettings()), HashIndex.empty())
    assert sorted(r[0] for r in result.rows) == [1, 2]
    assert [(r.feature_id, r.payload) for r in result.rejects] == [(None, b"5"),
                                                                   (None, b"null")]
    assert all("unreadable" in r.reason for r in result.rejects)
    with pytest.raises(IQGeoProtocolError, match="no 'features' array"):
        decode_page(b'{"features": 3}', "address")
    with pytest.raises(IQGeoProtocolError, match="not JSON"):
        decode_page(b"<html>", "address")
