"""Photo checks and the two evidence stores (local disk, and S3 via moto's server)."""

import io

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from gis.errors import InvalidInput
from tests.conftest import free_port
from workorders.photos import LocalEvidenceStore, S3EvidenceStore, check_photo, sniff


def jpeg_with_gps(lat=(52, 12, 30.0), lon=(0, 7, 12.0)):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: lat, 3: "W", 4: lon})
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_exif_location_is_kept():
    photo = check_photo(jpeg_with_gps(), 10**6)
    assert photo.content_type == "image/jpeg"
    assert photo.location == {"lat": pytest.approx(52.2083333), "lon": pytest.approx(-0.12)}


def test_heic_is_recognised_by_its_bytes_and_its_location_kept():
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "S", 2: (33, 51, 0.0), 3: "E", 4: (151, 12, 0.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "HEIF", exif=exif.tobytes())
    photo = check_photo(buffer.getvalue(), 10**6)
    assert photo.content_type == "image/heic"
    assert photo.location == {"lat": pytest.approx(-33.85), "lon": pytest.approx(151.2)}
    assert sniff(b"GIF89a...") is None


def test_the_size_limit_is_checked_before_anything_else():
    with pytest.raises(InvalidInput, match="the limit is 10"):
        check_photo(jpeg_with_gps(), 10)


def test_local_store_keeps_one_copy_per_content(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    store.put("ab" * 32, b"x")
    store.put("ab" * 32, b"x")
    assert store.get("ab" * 32) == b"x"
    assert len(list(tmp_path.rglob("*"))) == 2  # the directory and the file


@pytest.fixture
def s3(monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="evidence")
    yield url
    server.stop()


def test_s3_store_round_trip(s3):
    store = S3EvidenceStore("evidence", s3)
    data = jpeg_with_gps()
    photo = check_photo(data, 10**6)
    store.put(photo.sha256, data)
    assert store.get(photo.sha256) == data
    listed = boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket="evidence")
    assert [o["Key"] for o in listed["Contents"]] == [f"evidence/{photo.sha256}"]


def test_the_app_uses_s3_when_a_bucket_is_configured(s3, database_url, engine):
    from api.app import create_app
    from api.settings import ApiSettings

    settings = ApiSettings(database_url=database_url, evidence_s3_bucket="evidence",
                           evidence_s3_endpoint=s3)
    store = create_app(settings, engine=engine).state.evidence_store
    assert isinstance(store, S3EvidenceStore) and store.bucket == "evidence"
