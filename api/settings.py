"""Settings of the HTTP edge (FIBERSYNC_*), next to the database settings they extend."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gis.settings import DatabaseSettings


class ApiSettings(DatabaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    max_body_bytes: int = Field(1_048_576, alias="FIBERSYNC_MAX_BODY_BYTES")
    # A request that names this header value gets it echoed back in problem `instance`s.
    public_url: str | None = Field(None, alias="FIBERSYNC_PUBLIC_URL")
