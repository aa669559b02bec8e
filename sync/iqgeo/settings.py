"""IQGeo connection and schema settings (IQGEO_*). Type and field names differ per customer."""

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IQGeoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IQGEO_", extra="ignore")

    url: str | None = None
    user: str = "admin"
    password: SecretStr = SecretStr("_mywWorld_")
    application: str = "mywcom"

    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    page_size: int = Field(1000, ge=1, le=100_000)
    sessions: int = Field(2, ge=1, le=16)  # reader processes, one IQGeo session each
    read_ahead: int = Field(32, ge=1)  # pages read ahead while the database is busy
    batch_size: int = Field(25_000, ge=1)  # changed features staged and committed together
    max_attempts: int = Field(6, ge=1)
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 120.0  # the longest Retry-After waited out inside one call

    address_type: str = "address"
    circuit_type: str = "ftth_circuit"
    # FiberSync address column -> IQGeo address field.
    address_fields: dict[str, str] = {
        "name": "name", "street_number": "street_number", "street_name": "street_name",
        "city": "city", "postcode": "postcode", "building": "building",
    }
    # Extra IQGeo address properties kept in the address's gis_attributes.
    extra_fields: list[str] = ["serving_equipment", "serving_structure"]
    circuit_name_field: str = "name"
    circuit_address_field: str = "address"
    circuit_extra_fields: list[str] = [
        "status", "service_type", "in_feature", "out_feature", "customer", "date",
    ]

    # Write-back: FiberSync fact -> IQGeo address field. Only these fields are ever sent, and
    # the import never reads them, so the two directions cannot ping-pong.
    # Facts: service_status, subscriber, isp, product, speed_profile, activated_at.
    writeback_fields: dict[str, str] = {
        "service_status": "service_status", "subscriber": "subscriber", "isp": "isp",
        "product": "product", "speed_profile": "speed_profile",
        "activated_at": "service_since",
    }
    # IQGeo's service_status: from the address's service state first, else its physical state.
    writeback_service_values: dict[str, str] = {"active": "In Service"}
    writeback_physical_values: dict[str, str] = {
        "planned": "Planned", "surveyed": "Planned", "in_deployment": "Planned",
        "ready_for_service": "Built", "connected": "Built",
    }

    @model_validator(mode="after")
    def _directions_do_not_overlap(self) -> Self:
        imported = set(self.address_fields.values()) | set(self.extra_fields)
        shared = imported & set(self.writeback_fields.values())
        if shared:
            raise ValueError(f"IQGeo fields both imported and written back: "
                             f"{', '.join(sorted(shared))}; a field has one owner")
        return self
