"""Wholesale settlement: per ISP and month, the statement the network owner expects (each
service active in the month at its agreed wholesale rate, prorated by the days it was active,
as in `services.billing`) against what the ISP reported, line by line and in total."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import SettlementReport
from services.billing import add_months


@dataclass(frozen=True)
class Month:
    first: date

    @classmethod
    def parse(cls, period: str) -> "Month":
        try:
            first = date.fromisoformat(f"{period}-01")
        except ValueError:
            raise InvalidInput(f"period {period!r} is not a month such as 2026-11") from None
        return cls(first)

    @property
    def next(self) -> date:
        return add_months(self.first, 1)

    @property
    def days(self) -> int:
        return (self.next - self.first).days

    def __str__(self) -> str:
        return self.first.strftime("%Y-%m")


_ACTIVE_DAYS = """
SELECT s.isp_id, s.address_feature_id AS address, s.product,
       (least(CASE WHEN s.status = 'ceased' THEN s.status_since::date END, :next)
        - greatest(s.activated_at::date, :first)) AS days
FROM services s
WHERE s.activated_at IS NOT NULL AND s.activated_at::date < :next
  AND (s.status <> 'ceased' OR s.status_since::date > :first)
  AND (CAST(:isp AS text) IS NULL OR s.isp_id = :isp)
ORDER BY s.isp_id, s.address_feature_id
"""


def _prorated(rate: int, days: int, month_days: int) -> int:
    return int((Decimal(rate) * days / month_days).quantize(Decimal(1), ROUND_HALF_UP))


def report(session: Session, isp: str, month: Month, currency: str,
           lines: list[dict[str, int]], who: str) -> None:
    """Keep the ISP's statement for the month (a later one replaces it)."""
    statement = insert(SettlementReport).values(
        isp_id=isp, period=str(month), currency=currency, lines=lines, reported_by=who,
        reported_at=datetime.now(UTC))
    session.execute(statement.on_conflict_do_update(
        index_elements=["isp_id", "period"],
        set_={"currency": currency, "lines": lines, "reported_by": who,
              "reported_at": datetime.now(UTC)}))


def statements(session: Session, month: Month, rates: dict[str, int], currency: str,
               isp: str | None = None) -> list[dict[str, Any]]:
    """One statement per ISP with services in the month or a report for it."""
    expected: dict[str, dict[int, dict[str, Any]]] = {}
    for row in session.execute(text(_ACTIVE_DAYS), {"first": month.first, "next": month.next,
                                                    "isp": isp}):
        rate = rates.get(row.product or "")
        expected.setdefault(row.isp_id, {})[row.address] = {
            "address": row.address, "product": row.product, "days": row.days,
            "rate_minor": rate,
            "expected_minor": None if rate is None else _prorated(rate, row.days, month.days)}
    query = select(SettlementReport).where(SettlementReport.period == str(month))
    if isp:
        query = query.where(SettlementReport.isp_id == isp)
    reports = {r.isp_id: r for r in session.scalars(query)}
    return [_statement(name, month, currency, expected.get(name, {}), reports.get(name))
            for name in sorted(set(expected) | set(reports))]


def _statement(isp: str, month: Month, currency: str, lines: dict[int, dict[str, Any]],
               reported: SettlementReport | None) -> dict[str, Any]:
    actual = {int(line["address"]): int(line["amount"]) for line in
              (reported.lines if reported else [])}
    rows = []
    for address in sorted(set(lines) | set(actual)):
        line = lines.get(address, {"address": address, "product": None, "days": 0,
                                   "rate_minor": None, "expected_minor": 0})
        got = actual.get(address) if reported else None
        variance = None if got is None or line["expected_minor"] is None \
            else got - line["expected_minor"]
        rows.append({**line, "reported_minor": got, "variance_minor": variance})
    expected_total = sum(r["expected_minor"] or 0 for r in rows)
    reported_total = sum(actual.values()) if reported else None
    variance = None if reported_total is None else reported_total - expected_total
    return {"isp": isp, "period": str(month), "currency": currency,
            "reported_at": reported.reported_at.isoformat() if reported else None,
            "lines": rows, "expected_minor": expected_total,
            "reported_minor": reported_total, "variance_minor": variance,
            "variance_ratio": None if variance is None or not expected_total
            else abs(variance) / expected_total,
            "unrated_lines": sum(r["rate_minor"] is None and r["days"] > 0 for r in rows)}
