"""Request bodies for work orders and templates."""

from pydantic import BaseModel, ConfigDict, Field

from workorders.schemas import TemplateSpec


class WorkOrderRequest(BaseModel):
    """A customer order at an address that is already built or connected."""

    model_config = ConfigDict(extra="forbid")

    address_feature_id: int
    reason: str | None = Field(None, max_length=1000)


class NewTemplate(TemplateSpec):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["ftth-sdu-aerial"])
