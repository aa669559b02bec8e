"""Board metrics against hand-computed figures for a small world built by events."""

import pytest
from sqlalchemy import text

from tests.api.test_api import assert_problem
from tests.seed import add_addresses
from tests.services.test_contracts import commercial
from tests.services.test_events import post
from workorders.orders import create_connection_order

PERIOD = {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}


def service(event_id, kind, at, address, isp):
    return {"eventId": event_id, "eventType": f"service.{kind}", "eventTime": at,
            "event": {"address": address, "isp": isp, "speedProfile": "500/100",
                      "product": "Fibre 500"}}


def contract(event_id, address, isp, at):
    return commercial(event_id, "contract.signed", at, contract=f"C-{address}", isp=isp,
                      address=address, product="Fibre 500",
                      price={"amount": 3000, "currency": "EUR"})


def money(event_id, kind, at, address, isp, amount, **extra):
    return commercial(event_id, kind, at, contract=f"C-{address}", isp=isp,
                      amount={"amount": amount, "currency": "EUR"}, **extra)


@pytest.fixture
def world(client, keys, db_session):
    add_addresses(db_session, 6, status="ready_for_service")
    result = post(client, keys, [
        service("o1", "ordered", "2024-02-20T00:00:00Z", 1, "isp-a"),
        contract("c1", 1, "isp-a", "2024-02-20T00:00:00Z"),
        service("a1", "activated", "2024-03-05T10:00:00Z", 1, "isp-a"),
        money("i1", "invoice.issued", "2024-03-06T10:00:00Z", 1, "isp-a", 3000),  # 1 day
        service("o2", "ordered", "2024-02-20T00:00:00Z", 2, "isp-a"),
        contract("c2", 2, "isp-a", "2024-02-20T00:00:00Z"),
        service("a2", "activated", "2024-03-10T00:00:00Z", 2, "isp-a"),
        money("i2", "invoice.issued", "2024-03-13T00:00:00Z", 2, "isp-a", 3000),  # 3 days
        contract("c3", 3, "isp-b", "2024-03-14T00:00:00Z"),
        service("a3", "activated", "2024-03-15T00:00:00Z", 3, "isp-b"),  # no order, no bill
        service("o4", "ordered", "2024-01-01T00:00:00Z", 4, "isp-b"),
        contract("c4", 4, "isp-b", "2024-01-01T00:00:00Z"),
        service("a4", "activated", "2024-01-10T00:00:00Z", 4, "isp-b"),
        money("i4", "invoice.issued", "2024-03-01T12:00:00Z", 4, "isp-b", 3000),
        money("cr", "credit.issued", "2024-03-20T00:00:00Z", 1, "isp-a", 100),
        money("rf", "refund.issued", "2024-03-21T00:00:00Z", 2, "isp-a", 50),
        money("pay", "payment.received", "2024-03-25T00:00:00Z", 4, "isp-b", 3000),
        money("dis", "dispute.opened", "2024-03-22T00:00:00Z", 2, "isp-a", 1000,
              dispute="D-1"),
    ])
    assert result["accepted"] == 18, result
    db_session.execute(text("""
        INSERT INTO isp_orders (isp_id, order_ref, outcome, refusal, created_at)
        SELECT 'isp-a', 'R' || n,
               CASE WHEN n <= 2 THEN 'refused' ELSE 'ordered' END,
               CASE n WHEN 1 THEN 'unknown_product' WHEN 2 THEN 'not_serviceable' END,
               '2024-03-10T00:00:00Z'
        FROM generate_series(1, 10) AS n"""))


@pytest.mark.usefixtures("world")
def test_every_metric_against_its_hand_computed_value(client, keys):
    reply = client.get("/assurance/metrics", params={**PERIOD, "weeks": 4},
                       headers=keys["bss"])
    assert reply.status_code == 200, reply.text
    metrics = {m["key"]: m for m in reply.json()["metrics"]}

    def check(key, value, status):
        assert metrics[key]["value"] == pytest.approx(value), key
        assert metrics[key]["status"] == status, key

    check("active_but_unbilled_rate", 1 / 4, "red")  # 4 active, 3 invoiced in March
    check("activation_to_invoice_lag_days", 2.0, "amber")  # median of 1 and 3 days
    check("credit_refund_velocity", 150 / 6000, "amber")  # i4 is 31 days back: outside
    check("data_quality_failure_rate", 1 / 10, "red")  # not_serviceable is no failure
    check("activations_without_order", 1, "red")  # a3
    check("contract_network_mismatch_count", 0, "green")
    dso = metrics["dispute_adjusted_dso"]
    # receivable 9000 - 3000 paid - 100 credited = 5900 over 9000 of revenue in 31 days
    assert dso["value"] == pytest.approx(5900 / (9000 / 31))
    assert dso["value_excluding_disputes"] == pytest.approx(4900 / (9000 / 31))
    assert dso["status"] is None and "quarter earlier" in dso["missing"]
    check("pricing_policy_exception_rate", 0, "green")  # every invoice at the list price
    for key in ("no_charge_rework_rate", "settlement_variance"):  # no jobs, no reports
        assert metrics[key]["value"] is None and metrics[key]["missing"], key
    assert metrics["active_but_unbilled_rate"]["target"] == "< 0.0025"
    assert len(metrics["active_but_unbilled_rate"]["weekly"]) == 4


def test_metrics_refuse_a_bad_period_and_isps(client, keys):
    assert_problem(client.get("/assurance/metrics", params={
        "start": PERIOD["end"], "end": PERIOD["start"]}, headers=keys["bss"]), 422)
    assert_problem(client.get("/assurance/metrics", headers=keys["isp"]), 403)


@pytest.mark.usefixtures("world")
def test_pricing_policy_counts_discounts_without_a_promotion(client, keys):
    post(client, keys, [
        # 2500 for a 3000 product, no promotion: unauthorised.
        money("d1", "invoice.issued", "2024-03-16T00:00:00Z", 3, "isp-b", 2500),
        # a partial first period named on the invoice: not a discount.
        money("d2", "invoice.issued", "2024-03-17T00:00:00Z", 3, "isp-b", 1500,
              periodStart="2024-03-15", periodEnd="2024-03-31")])
    reply = client.get("/assurance/metrics", params=PERIOD, headers=keys["bss"])
    [pricing] = [m for m in reply.json()["metrics"]
                 if m["key"] == "pricing_policy_exception_rate"]
    assert pricing["value"] == pytest.approx(1 / 5) and pricing["status"] == "red"


@pytest.mark.usefixtures("world")
def test_no_charge_rework_counts_quick_free_return_visits(client, keys, db_session):
    orders = [create_connection_order(db_session, address, "test") for address in (1, 2, 3, 4)]
    changes = [  # (order, action, at, charge)
        (orders[0], "completed", "2024-03-02", None), (orders[0], "reopened", "2024-03-10", None),
        (orders[1], "completed", "2024-03-03", None), (orders[1], "reopened", "2024-03-25", 0),
        (orders[2], "completed", "2024-03-05", None), (orders[2], "reopened", "2024-03-06", 5000),
        (orders[3], "completed", "2024-03-20", None)]
    for order, action, at, charge in changes:
        db_session.execute(text(
            "INSERT INTO work_order_changes (work_order_id, action, actor, at, after) "
            "VALUES (:o, :a, 'test', CAST(:at AS timestamptz), "
            "jsonb_build_object('charge_minor', CAST(:c AS bigint)))"),
            {"o": order, "a": action, "at": f"{at}T12:00:00Z", "c": charge})
    reply = client.get("/assurance/metrics", params=PERIOD, headers=keys["bss"])
    [rework] = [m for m in reply.json()["metrics"] if m["key"] == "no_charge_rework_rate"]
    # Only the first: the second came back after 22 days, the third was charged.
    assert rework["value"] == pytest.approx(1 / 4) and rework["status"] == "red"
