"""Photo evidence: what kind of image it really is, where it was taken, where it is kept."""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from gis.errors import InvalidInput

register_heif_opener()  # Pillow reads HEIC (iPhone photos) too, for checks and EXIF
GPS_IFD = 0x8825


class EvidenceStore(Protocol):
    """Where photo bytes live, by SHA-256. Local disk here; an S3-compatible bucket would
    implement the same two methods."""

    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes: ...


class LocalEvidenceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():  # content-addressed: the same photo twice is stored once
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()


class S3EvidenceStore:
    """Any S3-compatible bucket (AWS, MinIO, Ceph...); credentials come the usual boto3 way
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None,
                 prefix: str = "evidence/") -> None:
        import boto3  # only deployments that use S3 pay for importing it

        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def put(self, sha256: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + sha256, Body=data,
                               ChecksumSHA256=_base64_sha256(data))

    def get(self, sha256: str) -> bytes:
        reply = self.client.get_object(Bucket=self.bucket, Key=self.prefix + sha256)
        body: bytes = reply["Body"].read()
        return body


def _base64_sha256(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass(frozen=True)
class Photo:
    sha256: str
    content_type: str
    size: int
    location: dict[str, float] | None  # EXIF GPS, when the camera recorded it


def sniff(data: bytes) -> str | None:
    """The image type from the bytes themselves (never from the name or the header)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"
    return None


def _degrees(values: Any, ref: str) -> float:
    d, m, s = (float(v) for v in values)
    value = d + m / 60 + s / 3600
    return -value if ref in ("S", "W") else value


def _exif_location(data: bytes) -> dict[str, float] | None:
    try:
        gps = Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
        if 2 in gps and 4 in gps:
            return {"lat": round(_degrees(gps[2], gps.get(1, "N")), 7),
                    "lon": round(_degrees(gps[4], gps.get(3, "E")), 7)}
    except (UnidentifiedImageError, OSError, ValueError, TypeError, ZeroDivisionError):
        pass
    return None


def check_photo(data: bytes, max_bytes: int) -> Photo:
    """Refuses anything that is not a whole JPEG, PNG or HEIC image within the size limit."""
    if not data:
        raise InvalidInput("the photo is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"the photo is {len(data)} bytes; the limit is {max_bytes}")
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput("the file is not a JPEG, PNG or HEIC image")
    try:  # a damaged or truncated image fails here
        Image.open(io.BytesIO(data)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"the image is damaged or incomplete: {error}") from None
    location = _exif_location(data)
    return Photo(hashlib.sha256(data).hexdigest(), content_type, len(data), location)
