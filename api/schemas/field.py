"""Request bodies for work order and task actions."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from workorders.models import AssigneeType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleRequest(Strict):
    start: datetime
    end: datetime
    crew: str | None = Field(None, max_length=100)


class ReasonRequest(Strict):
    reason: str = Field(min_length=1, max_length=1000)


class ReopenRequest(ReasonRequest):
    tasks: list[int] | None = Field(None, description="task positions to redo; default all")
    charge_minor: int | None = Field(None, ge=0, description="what the return visit is "
                                     "charged, in minor units; none or 0: no charge")


class AssigneeRequest(Strict):
    type: AssigneeType
    id: str = Field(min_length=1, max_length=100)


class ReassignRequest(Strict):
    assignee: AssigneeRequest


class OverrideRequest(Strict):
    reason_code: str
    note: str = Field(min_length=1, max_length=1000)
