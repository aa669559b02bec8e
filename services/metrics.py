"""Board metrics for a period, each with its definition, value, target, alert threshold and
green/amber/red, exactly as the source material defines them. A metric whose inputs are
missing says so (`value` None, `missing` the reason) instead of showing a number.

Approximations, stated: a service counts as active at a moment when it was activated before
it and is still active or suspended, or its current state began after that moment (the
state history before the last change is in the events, not in `services`). Amounts are
summed as given; one currency per operator is assumed.
"""

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

Compare = Callable[[float, float], bool]
OPS: dict[str, Compare] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                           ">=": operator.ge}
VALIDATION_REFUSALS = ["duplicate", "unknown_product", "unknown_address"]
MISMATCH_KINDS = ["active_without_contract", "speed_mismatch", "contract_without_network"]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True)
class Definition:
    key: str
    name: str
    definition: str
    unit: str  # ratio | days | count
    target: tuple[str, float]  # green while value <op> threshold
    alert: tuple[str, float]  # red once value <op> threshold
    sql: str | None  # one row: value (NULL when the inputs are missing)
    missing: str  # why there is no value when the query gives none (or there is no query)


ACTIVE_AT_END = """activated_at < :end AND (status IN ('active', 'suspended')
                                            OR status_since >= :end)"""
INVOICE_JOIN = """JOIN commercial_events e ON e.isp_id = c.isp_id
                  AND e.contract_ref = c.contract_ref AND e.event_type = 'invoice.issued'
                  AND e.outcome = 'applied'"""

DEFINITIONS = [
    Definition(
        "active_but_unbilled_rate", "Active-but-unbilled rate",
        "(active services - billed services in cycle) ÷ active services; billed: an invoice "
        "for the service's contract in the period", "ratio", ("<", 0.0025), (">=", 0.01),
        f"""WITH active AS (SELECT address_feature_id, isp_id FROM services
                            WHERE {ACTIVE_AT_END}),
                 billed AS (SELECT DISTINCT a.* FROM active a
                            JOIN contracts c USING (address_feature_id, isp_id)
                            {INVOICE_JOIN}
                              AND e.event_time >= :start AND e.event_time < :end)
            SELECT (count(*) - (SELECT count(*) FROM billed))::float8 / nullif(count(*), 0)
            FROM active""", "no service was active at the end of the period"),
    Definition(
        "activation_to_invoice_lag_days", "Activation-to-invoice lag",
        "median days from activation to the first invoice after it, for the period's "
        "activations", "days", ("<=", 1), (">", 3),
        f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) FROM (
              SELECT (SELECT extract(epoch FROM min(e.event_time) - s.activated_at) / 86400
                      FROM contracts c {INVOICE_JOIN}
                        AND e.event_time >= s.activated_at
                      WHERE c.address_feature_id = s.address_feature_id
                        AND c.isp_id = s.isp_id) AS lag
              FROM services s WHERE s.activated_at >= :start AND s.activated_at < :end) l
            WHERE lag IS NOT NULL""", "no activation in the period has been invoiced"),
    Definition(
        "pricing_policy_exception_rate", "Pricing policy exception rate",
        "invoices with a non-catalogue price or an unauthorised discount ÷ all invoices; "
        "non-catalogue: the product has no list price or the contract another price; "
        "unauthorised: below the list price with no promotion of the contract covering the "
        "invoice date, unless the invoice names a period shorter than 28 days",
        "ratio", ("<", 0.01), (">=", 0.02),
        """SELECT (count(*) FILTER (WHERE
                     list.price IS NULL OR c.price_minor <> list.price
                     OR (e.amount_minor < list.price
                         AND NOT (c.promotion_start IS NOT NULL
                                  AND e.event_time::date BETWEEN c.promotion_start
                                                             AND c.promotion_end
                                  AND e.amount_minor >= c.promotion_price_minor)
                         AND coalesce((e.attributes ->> 'periodEnd')::date
                                      - (e.attributes ->> 'periodStart')::date, 31) >= 28)
                  ))::float8 / nullif(count(*), 0)
           FROM commercial_events e
           JOIN contracts c ON c.isp_id = e.isp_id AND c.contract_ref = e.contract_ref
           CROSS JOIN LATERAL (SELECT (CAST(:prices AS jsonb) ->> c.product)::bigint
                               AS price) list
           WHERE e.event_type = 'invoice.issued' AND e.outcome = 'applied'
             AND e.event_time >= :start AND e.event_time < :end""",
        "no invoices in the period"),
    Definition(
        "credit_refund_velocity", "Credit and refund velocity",
        "(credits + refunds) ÷ billed revenue, rolling 30 days to the period's end", "ratio",
        ("<", 0.015), (">=", 0.03),
        """SELECT sum(amount_minor) FILTER (WHERE event_type IN ('credit.issued',
                                                                'refund.issued'))::float8
                  / nullif(sum(amount_minor) FILTER (WHERE event_type = 'invoice.issued'), 0)
           FROM commercial_events WHERE outcome = 'applied'
             AND event_time >= CAST(:end AS timestamptz) - interval '30 days'
             AND event_time < :end""", "nothing was invoiced in the 30 days"),
    Definition(
        "no_charge_rework_rate", "No-charge rework rate",
        "jobs reopened in the period within 14 days of their completion with zero charge "
        "÷ jobs completed in the period", "ratio", ("<", 0.05), (">=", 0.08),
        """SELECT (SELECT count(*) FROM work_order_changes r
                   WHERE r.action = 'reopened' AND r.at >= :start AND r.at < :end
                     AND coalesce((r.after ->> 'charge_minor')::bigint, 0) = 0
                     AND r.at - (SELECT max(c.at) FROM work_order_changes c
                                 WHERE c.work_order_id = r.work_order_id
                                   AND c.action = 'completed' AND c.at < r.at)
                         <= interval '14 days')::float8
                  / nullif(count(*), 0)
           FROM work_order_changes
           WHERE action = 'completed' AND at >= :start AND at < :end""",
        "no job was completed in the period"),
    Definition(
        "settlement_variance", "Settlement variance",
        "|expected - actual| ÷ expected, over the ISPs' reports for the month the period "
        "ends in", "ratio", ("<=", 0.005), (">", 0.01), None,
        "no ISP has reported its statement for the month"),
    Definition(
        "data_quality_failure_rate", "Data-quality failure rate",
        "orders failing validation (unknown address, unknown product, duplicate) ÷ all "
        "orders", "ratio", ("<", 0.01), (">=", 0.02),
        """SELECT (count(*) FILTER (WHERE refusal = ANY(CAST(:refusals AS text[]))))::float8
                  / nullif(count(*), 0)
           FROM isp_orders WHERE created_at >= :start AND created_at < :end""",
        "no orders in the period"),
    Definition(
        "contract_network_mismatch_count", "Contract-network mismatches",
        "open exceptions at the period's end: active without contract, speed profile not "
        "the one sold, contract without network", "count", ("<=", 0), (">", 0),
        """SELECT count(*)::float8 FROM assurance_exceptions
           WHERE kind = ANY(CAST(:kinds AS text[])) AND first_seen < :end
             AND (resolved_at IS NULL OR resolved_at >= :end)""", ""),
    Definition(
        "activations_without_order", "Activations with no order",
        "services activated in the period with no order before the activation (neither an "
        "ordered event nor an ISP order)", "count", ("<=", 0), (">", 0),
        """SELECT count(*)::float8 FROM services s
           WHERE s.activated_at >= :start AND s.activated_at < :end
             AND NOT EXISTS (SELECT 1 FROM service_events e
                             WHERE e.address_feature_id = s.address_feature_id
                               AND e.isp_id = s.isp_id AND e.event_type = 'ordered'
                               AND e.outcome = 'applied' AND e.event_time <= s.activated_at)
             AND NOT EXISTS (SELECT 1 FROM isp_orders o
                             WHERE o.address_feature_id = s.address_feature_id
                               AND o.isp_id = s.isp_id AND o.outcome <> 'refused'
                               AND o.created_at <= s.activated_at)""", ""),
]


def status_of(definition: Definition, value: float) -> str:
    alert_op, alert = definition.alert
    target_op, target = definition.target
    if OPS[alert_op](value, alert):
        return "red"
    return "green" if OPS[target_op](value, target) else "amber"


def _value(session: Session, definition: Definition, period: Period,
           prices: dict[str, int]) -> float | None:
    if definition.sql is None:
        return None
    value = session.execute(text(definition.sql), {
        "start": period.start, "end": period.end, "refusals": VALIDATION_REFUSALS,
        "kinds": MISMATCH_KINDS, "prices": json.dumps(prices)}).scalar()
    return None if value is None else float(value)


def _dso(session: Session, period: Period) -> tuple[float | None, float | None]:
    """Days sales outstanding at the period's end, and the same without disputed balances."""
    row = session.execute(text("""
        SELECT
          coalesce(sum(amount_minor) FILTER (WHERE event_type = 'invoice.issued'), 0)
          - coalesce(sum(amount_minor) FILTER (WHERE event_type IN ('payment.received',
                                                                    'credit.issued')), 0)
            AS receivable,
          sum(amount_minor) FILTER (WHERE event_type = 'invoice.issued'
                                      AND event_time >= :start) AS revenue,
          coalesce(sum(amount_minor) FILTER (
            WHERE event_type = 'dispute.opened' AND NOT EXISTS (
              SELECT 1 FROM commercial_events d WHERE d.event_type = 'dispute.closed'
                AND d.outcome = 'applied' AND d.event_time < :end
                AND d.attributes ->> 'dispute' = commercial_events.attributes ->> 'dispute')),
            0) AS disputed
        FROM commercial_events WHERE outcome = 'applied' AND event_time < :end
    """), {"start": period.start, "end": period.end}).one()
    if not row.revenue:
        return None, None
    per_day = float(row.revenue) / period.days  # sums of bigint come back as numeric
    receivable = float(row.receivable)
    return receivable / per_day, (receivable - float(row.disputed)) / per_day


def dso_metric(session: Session, period: Period) -> dict[str, Any]:
    dso, without = _dso(session, period)
    quarter = timedelta(days=91)
    before, _ = _dso(session, Period(period.start - quarter, period.end - quarter))
    metric: dict[str, Any] = {
        "key": "dispute_adjusted_dso", "name": "Dispute-adjusted DSO", "unit": "days",
        "definition": "days sales outstanding (receivables ÷ revenue per day of the "
                      "period), shown beside DSO without disputed balances",
        "target": "stable or improving", "alert": "> 10 % increase quarter over quarter",
        "value": dso, "value_excluding_disputes": without, "previous_quarter": before}
    if dso is None:
        return {**metric, "status": None, "missing": "nothing was invoiced in the period"}
    if before is None:
        return {**metric, "status": None,
                "missing": "nothing was invoiced a quarter earlier: no trend yet"}
    change = (dso - before) / before if before else 0.0
    status = "red" if change > 0.10 else ("green" if change <= 0 else "amber")
    return {**metric, "status": status, "quarter_over_quarter": change}


def metric(session: Session, definition: Definition, period: Period,
           prices: dict[str, int]) -> dict[str, Any]:
    value = _value(session, definition, period, prices)
    return {"key": definition.key, "name": definition.name, "unit": definition.unit,
            "definition": definition.definition,
            "target": f"{definition.target[0]} {definition.target[1]:g}",
            "alert": f"{definition.alert[0]} {definition.alert[1]:g}", "value": value,
            "status": None if value is None else status_of(definition, value),
            "missing": definition.missing if value is None else None}


def board_metrics(session: Session, period: Period, prices: dict[str, int],
                  weeks: int = 8) -> list[dict[str, Any]]:
    """Every metric for the period, each with its weekly trend (oldest first)."""
    week_ends = [period.end - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    trend_periods = [Period(end - timedelta(days=7), end) for end in week_ends]
    metrics = []
    for definition in DEFINITIONS:
        current = metric(session, definition, period, prices)
        current["weekly"] = [{"week_ending": p.end.isoformat(),
                              "value": _value(session, definition, p, prices)}
                             for p in trend_periods] if definition.sql else []
        metrics.append(current)
    dso = dso_metric(session, period)
    dso["weekly"] = [{"week_ending": p.end.isoformat(), "value": _dso(session, p)[0]}
                     for p in trend_periods]
    metrics.append(dso)
    return metrics


def with_settlement_variance(metrics: list[dict[str, Any]],
                             statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill the settlement variance from the month's statements that have a report."""
    reported = [s for s in statements if s["reported_minor"] is not None]
    expected = sum(s["expected_minor"] for s in reported)
    if not reported or not expected:
        return metrics
    value = abs(sum(s["reported_minor"] for s in reported) - expected) / expected
    definition = next(d for d in DEFINITIONS if d.key == "settlement_variance")
    return [{**m, "value": value, "status": status_of(definition, value), "missing": None}
            if m["key"] == "settlement_variance" else m for m in metrics]
