"""Evidence a task requires, what a reading proves, and whether a task has enough of it."""

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.errors import Conflict, InvalidInput


class _Reading(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LightLevel(_Reading):
    kind: Literal["light_level"]
    dbm: float = Field(ge=-60, le=20)
    wavelength_nm: int = Field(1490, ge=1260, le=1650)


class SpeedTest(_Reading):
    kind: Literal["speed_test"]
    down_mbps: float = Field(ge=0)
    up_mbps: float = Field(ge=0)
    latency_ms: float | None = Field(None, ge=0)
    server: str | None = Field(None, max_length=200)


class Measurement(_Reading):
    kind: Literal["measurement"]
    quantity: str = Field(min_length=1, max_length=100, examples=["splice_loss_db"])
    value: float
    unit: str = Field(max_length=20)


class Note(_Reading):
    kind: Literal["note"]
    text: str = Field(min_length=1, max_length=5000)


class OntSerial(_Reading):
    kind: Literal["ont_serial"]
    serial: str = Field(pattern=r"^[A-Za-z0-9-]{6,32}$")


class Signature(_Reading):
    kind: Literal["signature"]
    signed_by: str = Field(min_length=1, max_length=200)


Reading = Annotated[LightLevel | SpeedTest | Measurement | Note | OntSerial | Signature,
                    Field(discriminator="kind")]


def parse_plan(speed_profile: str | None) -> tuple[float, float] | None:
    """"500/100" -> (500.0, 100.0): the ordered plan a speed test is judged against."""
    try:
        down, up = (speed_profile or "").split("/")
        return float(down), float(up)
    except ValueError:
        return None


def quantities(reading: dict[str, Any], plan: tuple[float, float] | None) -> dict[str, float]:
    """The measured quantities a reading gives, named as template requirements name them."""
    kind = reading["kind"]
    if kind == "light_level":
        return {"received_power_dbm": reading["dbm"]}
    if kind == "measurement":
        return {reading["quantity"]: reading["value"]}
    if kind == "speed_test" and plan:
        return {"download_ratio_of_plan": round(reading["down_mbps"] / plan[0], 4),
                "upload_ratio_of_plan": round(reading["up_mbps"] / plan[1], 4)}
    return {}


def _limit_text(requirement: dict[str, Any]) -> str:
    low, high = requirement.get("min"), requirement.get("max")
    unit = requirement.get("unit", "")
    if low is not None and high is not None:
        return f"between {low} and {high} {unit}".rstrip()
    return f"at least {low} {unit}".rstrip() if low is not None else f"at most {high} {unit}"


def check_limits(reading: dict[str, Any], required: list[dict[str, Any]],
                 plan: tuple[float, float] | None) -> None:
    """Refuses a reading outside the task's limits, saying which limit."""
    if reading["kind"] == "speed_test" and plan is None and any(
            r.get("quantity", "").endswith("_of_plan") for r in required):
        raise InvalidInput("there is no ordered plan at this address to compare the speed "
                           "test with; a supervisor can override the requirement")
    measured = quantities(reading, plan)
    for requirement in required:
        value = measured.get(requirement.get("quantity", ""))
        if requirement["kind"] != "measurement" or value is None:
            continue
        low, high = requirement.get("min"), requirement.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidInput(f"{requirement['quantity']} {value} is out of limits: it must "
                               f"be {_limit_text(requirement)}")


def missing_evidence(required: list[dict[str, Any]], recorded: list[dict[str, Any]],
                     plan: tuple[float, float] | None) -> list[str]:
    """What the task still lacks; empty when it may be marked done."""
    kinds = Counter(r["kind"] for r in recorded)
    measured: set[str] = set()
    for reading in recorded:
        measured |= set(quantities(reading, plan))
    missing = []
    for requirement in required:
        kind = requirement["kind"]
        if kind == "measurement" and requirement["quantity"] not in measured:
            missing.append(f"{requirement['quantity']} ({_limit_text(requirement)})")
        elif kind == "photo" and kinds["photo"] < requirement.get("min_count", 1):
            missing.append(f"{requirement.get('min_count', 1)} photo(s), "
                           f"{kinds['photo']} taken")
        elif kind == "signature" and not kinds["signature"]:
            missing.append("a signature")
        elif kind == "serial_number" and not kinds["ont_serial"]:
            missing.append("the ONT serial number")
    return missing


def refuse_if_missing(task_label: str, missing: list[str]) -> None:
    if missing:
        raise Conflict(f"{task_label} cannot be marked done: it still needs "
                       + "; ".join(missing), missing=missing)
