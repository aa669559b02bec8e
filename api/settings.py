"""Settings of the HTTP edge (FIBERSYNC_*), next to the database settings they extend."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from gis.settings import DatabaseSettings


class ApiSettings(DatabaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    max_body_bytes: int = Field(
        1_048_576, validation_alias=AliasChoices("FIBERSYNC_MAX_BODY_BYTES", "max_body_bytes"))
    # Area uploads (GeoPackage, zipped Shapefile, GeoJSON) and area geometry.
    max_upload_bytes: int = Field(
        20 * 1_048_576,
        validation_alias=AliasChoices("FIBERSYNC_MAX_UPLOAD_BYTES", "max_upload_bytes"))
    max_area_vertices: int = Field(
        100_000,
        validation_alias=AliasChoices("FIBERSYNC_MAX_AREA_VERTICES", "max_area_vertices"))
    # Field evidence: photo size limit and where photos are kept.
    max_photo_bytes: int = Field(
        15 * 1_048_576,
        validation_alias=AliasChoices("FIBERSYNC_MAX_PHOTO_BYTES", "max_photo_bytes"))
    evidence_dir: Path = Field(
        Path("var/evidence"),
        validation_alias=AliasChoices("FIBERSYNC_EVIDENCE_DIR", "evidence_dir"))
    # With a bucket, photos go to S3 (or any S3-compatible store) instead of evidence_dir.
    evidence_s3_bucket: str | None = Field(
        None, validation_alias=AliasChoices("FIBERSYNC_EVIDENCE_S3_BUCKET",
                                            "evidence_s3_bucket"))
    evidence_s3_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("FIBERSYNC_EVIDENCE_S3_ENDPOINT",
                                            "evidence_s3_endpoint"))
    # Open access: the products ISPs may order (name -> "down/up" Mbps) and search limits.
    products: dict[str, str] = Field(
        {"Fibre 100": "100/20", "Fibre 500": "500/100", "Fibre 1000": "1000/200"},
        validation_alias=AliasChoices("FIBERSYNC_PRODUCTS", "products"))
    max_search_radius_m: float = Field(
        20_000, validation_alias=AliasChoices("FIBERSYNC_MAX_SEARCH_RADIUS_M",
                                              "max_search_radius_m"))
    # Requests per second per API key (0: no limit), with bursts up to rate_limit_burst.
    rate_limit_per_second: float = Field(
        200, validation_alias=AliasChoices("FIBERSYNC_RATE_LIMIT_PER_SECOND",
                                           "rate_limit_per_second"))
    rate_limit_burst: int = Field(
        400, validation_alias=AliasChoices("FIBERSYNC_RATE_LIMIT_BURST", "rate_limit_burst"))
    # The map's basemap: an XYZ raster tile URL template such as
    # https://tile.openstreetmap.org/{z}/{x}/{y}.png. None by default, so the map works offline.
    basemap_url: str | None = Field(
        None, validation_alias=AliasChoices("FIBERSYNC_BASEMAP_URL", "basemap_url"))
    basemap_attribution: str = Field(
        "", validation_alias=AliasChoices("FIBERSYNC_BASEMAP_ATTRIBUTION",
                                          "basemap_attribution"))
    # Rendered map tiles kept in memory per process, dropped on any change (0: no cache).
    tile_cache_bytes: int = Field(
        64 * 1_048_576, validation_alias=AliasChoices("FIBERSYNC_TILE_CACHE_BYTES",
                                                      "tile_cache_bytes"))
    # Callers (API keys found valid) kept in memory per process, dropped whenever any key
    # changes (0: look the key up on every request).
    principal_cache_keys: int = Field(
        10_000, validation_alias=AliasChoices("FIBERSYNC_PRINCIPAL_CACHE_KEYS",
                                              "principal_cache_keys"))
    # Assurance: how long a contract may wait for the network, and an activation for its
    # first invoice, before either is an exception.
    assurance_grace_days: int = Field(
        7, validation_alias=AliasChoices("FIBERSYNC_ASSURANCE_GRACE_DAYS",
                                         "assurance_grace_days"))
    assurance_invoice_days: int = Field(
        3, validation_alias=AliasChoices("FIBERSYNC_ASSURANCE_INVOICE_DAYS",
                                         "assurance_invoice_days"))
    # Agreed wholesale rates per product, per month, in minor units of wholesale_currency.
    wholesale_rates: dict[str, int] = Field(
        {"Fibre 100": 1500, "Fibre 500": 2000, "Fibre 1000": 2500},
        validation_alias=AliasChoices("FIBERSYNC_WHOLESALE_RATES", "wholesale_rates"))
    wholesale_currency: str = Field(
        "EUR", validation_alias=AliasChoices("FIBERSYNC_WHOLESALE_CURRENCY",
                                             "wholesale_currency"))
    # The price list: each product's monthly list price in minor units; an invoice below
    # it without a promotion covering it, or a contract at another price, is a pricing
    # policy exception.
    catalogue_prices: dict[str, int] = Field(
        {"Fibre 100": 2000, "Fibre 500": 3000, "Fibre 1000": 4500},
        validation_alias=AliasChoices("FIBERSYNC_CATALOGUE_PRICES", "catalogue_prices"))
