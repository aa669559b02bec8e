"""Assurance (`/assurance`): exceptions between network and commercial truth."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.paging import next_links
from api.settings import ApiSettings
from gis.errors import InvalidInput
from gis.status import Role
from services.assurance import Rules, list_exceptions, resolve, scan
from services.metrics import Period, board_metrics, with_settlement_variance
from services.settlement import Month, report, statements

router = APIRouter(prefix="/assurance", tags=["assurance"])
Reader = Annotated[Principal, Depends(require_roles(Role.bss, Role.isp))]
Finance = Annotated[Principal, Depends(require_roles(Role.bss))]


def rules_from(settings: ApiSettings) -> Rules:
    return Rules(dict(settings.products), settings.assurance_grace_days,
                 settings.assurance_invoice_days)


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, examples=["fixed_in_bss", "waived"])
    note: str | None = Field(None, max_length=2000)


@router.get("/exceptions")
def get_exceptions(request: Request, session: SessionDep, _: Reader,
                   severity: Literal["red", "amber"] | None = None,
                   kind: str | None = None, isp: str | None = None,
                   state: Literal["open", "resolved", "all"] = "open",
                   after: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Exceptions in id order with a `next` link; an ISP sees only its own."""
    open_only = {"open": True, "resolved": False, "all": None}[state]
    found = list_exceptions(session, severity=severity, kind=kind, isp=isp,
                            open_only=open_only, after=after, limit=limit)
    links = next_links(request, len(found), limit, found[-1]["id"] if found else None,
                       "application/json")
    return {"exceptions": found, "links": links}


@router.post("/exceptions/{exception_id}/resolve")
def resolve_exception(exception_id: int, body: Resolution, session: SessionDep,
                      principal: Finance) -> dict[str, Any]:
    """Close an open exception with a reason code and note; who and when are kept."""
    return resolve(session, exception_id, body.code, body.note, f"api key {principal.name}",
                   datetime.now(UTC))


@router.post("/scans")
def full_scan(request: Request, session: SessionDep, _: Finance) -> dict[str, Any]:
    """Recompute every exception now (events recompute their own services as they come)."""
    started = datetime.now(UTC)
    counts = scan(session, rules_from(request.app.state.settings), started)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return {"found": counts.found, "opened": counts.opened, "cleared": counts.cleared,
            "seconds": round(seconds, 3)}


@router.get("/metrics")
def get_metrics(request: Request, session: SessionDep, _: Finance,
                start: datetime | None = None,
                end: datetime | None = None,
                weeks: Annotated[int, Query(ge=1, le=52)] = 8) -> dict[str, Any]:
    """The board metrics for [start, end) (default: the 30 days to now), each with its
    definition, value, target, alert threshold, status and weekly trend; a metric whose
    inputs are missing says why instead of giving a number."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start and end need a time zone, e.g. 2026-11-01T00:00:00Z")
    if start >= end:
        raise InvalidInput("start must be before end")
    period = Period(start, end)
    settings = request.app.state.settings
    month = Month((end - timedelta(microseconds=1)).date().replace(day=1))
    metrics = with_settlement_variance(
        board_metrics(session, period, settings.catalogue_prices, weeks),
        statements(session, month, settings.wholesale_rates, settings.wholesale_currency))
    return {"start": start.isoformat(), "end": end.isoformat(), "metrics": metrics}


class ReportLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: int = Field(gt=0)
    amount: int = Field(ge=0, description="minor units")


class SettlementReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern="^[A-Z]{3}$")
    lines: list[ReportLine] = Field(max_length=100_000)


@router.get("/settlements")
def get_settlements(request: Request, session: SessionDep, _: Reader,
                    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$",
                                                 examples=["2026-11"])],
                    isp: str | None = None) -> dict[str, Any]:
    """Per ISP for the month: the expected statement (services active in the month at the
    agreed rates, prorated by days) against the ISP's report, per line and in total."""
    settings = request.app.state.settings
    return {"period": period, "statements": statements(
        session, Month.parse(period), settings.wholesale_rates, settings.wholesale_currency,
        isp)}


@router.put("/settlements/{isp}/{period}", status_code=204)
def put_settlement_report(isp: str, period: str, body: SettlementReportIn,
                          session: SessionDep, principal: Reader) -> None:
    """The ISP's statement for the month (an ISP key reports for its own ISP only)."""
    if principal.role is Role.isp and principal.isp_id != isp:
        raise HTTPException(403, f"this key reports for {principal.isp_id}, not {isp}")
    report(session, isp, Month.parse(period), body.currency,
           [line.model_dump() for line in body.lines], f"api key {principal.name}")
