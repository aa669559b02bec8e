"""Outbox worker settings (FIBERSYNC_WORKER_*)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIBERSYNC_WORKER_", extra="ignore")

    batch_keys: int = Field(500, ge=1, le=10_000)  # addresses claimed (and sent) together
    # A claim lasts this long; a worker that dies holding one is replaced after it. Keep it
    # well above the time one IQGeo call can take (timeouts x attempts), so a slow worker is
    # never overtaken by another sending newer values.
    lease_seconds: float = Field(60.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)  # fallback when no NOTIFY arrives
    max_attempts: int = Field(10, ge=1)  # then the events are parked
    backoff_base: float = Field(1.0, gt=0)
    backoff_cap: float = Field(300.0, gt=0)
    iqgeo_attempts: int = Field(2, ge=1)  # quick retries inside one claim
    iqgeo_timeout: float = Field(10.0, gt=0)  # per IQGeo call, capped to fit the lease
