"""What a template is made of: tasks, the evidence they require, and the selection rule."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workorders.models import AssigneeType, Purpose, TaskKind

# Address columns a rule may test; `gis_attributes.<name>` reaches the extra IQGeo fields.
RULE_COLUMNS = ("name", "street_number", "street_name", "city", "postcode", "building",
                "circuit_name", "status")
Operator = Literal["eq", "ne", "in", "not_in", "present", "absent", "gt", "gte", "lt", "lte"]
NUMERIC_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(Strict):
    attribute: str = Field(examples=["building", "gis_attributes.drop_type"])
    op: Operator
    value: str | float | list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> "Condition":
        name = self.attribute.removeprefix("gis_attributes.")
        if self.attribute not in RULE_COLUMNS and (
                not self.attribute.startswith("gis_attributes.") or not name):
            raise ValueError(f"attribute must be one of {', '.join(RULE_COLUMNS)} "
                             "or gis_attributes.<name>")
        if self.op in ("present", "absent"):
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{self.op} needs a non-empty list of values")
        elif self.op in NUMERIC_OPERATORS:
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ValueError(f"{self.op} needs a number")
        elif not isinstance(self.value, str | int | float):
            raise ValueError(f"{self.op} needs one value")
        return self


class Rule(Strict):
    """Matches an address when all its conditions hold."""

    all: list[Condition] = Field(min_length=1)


class Measurement(Strict):
    kind: Literal["measurement"] = "measurement"
    quantity: str = Field(examples=["received_power_dbm", "download_ratio_of_plan"])
    unit: str = Field(examples=["dBm", "ratio"])
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "Measurement":
        if self.min is None and self.max is None:
            raise ValueError("a measurement needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class Photos(Strict):
    kind: Literal["photo"] = "photo"
    min_count: int = Field(1, ge=1, le=50)


class Signature(Strict):
    kind: Literal["signature"] = "signature"


class SerialNumber(Strict):
    kind: Literal["serial_number"] = "serial_number"


Evidence = Annotated[Measurement | Photos | Signature | SerialNumber,
                     Field(discriminator="kind")]


class Assignee(Strict):
    type: AssigneeType
    id: str = Field(min_length=1, max_length=100)


class TaskSpec(Strict):
    kind: TaskKind
    name: str = Field(min_length=1, max_length=200)
    assignee: Assignee
    evidence: list[Evidence] = []
    skippable: bool = False  # may be skipped in the field, with a reason


class TemplateSpec(Strict):
    """The editable content of a template; each save makes a new version."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    purpose: Purpose = Purpose.deployment
    priority: int = Field(100, ge=0, le=10_000)
    is_default: bool = False
    rule: Rule | None = None
    # Where the address goes on completion; default: ready_for_service for a deployment,
    # connected for a connection.
    completes_to: Literal["ready_for_service", "connected"] | None = None
    tasks: list[TaskSpec] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _selectable(self) -> "TemplateSpec":
        if self.rule is None and not self.is_default:
            raise ValueError("a template needs a rule, or to be the default")
        return self


def dump_evidence(task: TaskSpec) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) for item in task.evidence]
