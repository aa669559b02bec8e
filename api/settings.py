"""Settings of the HTTP edge (FIBERSYNC_*), next to the database settings they extend."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from gis.settings import DatabaseSettings


class ApiSettings(DatabaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    max_body_bytes: int = Field(
        1_048_576, validation_alias=AliasChoices("FIBERSYNC_MAX_BODY_BYTES", "max_body_bytes"))
