"""Commercial events and the billing triggers they and the network's events fire."""

import pytest
from sqlalchemy import text

from gis.scoping import enter_isp_scope, leave_isp_scope
from tests.seed import add_addresses
from tests.services.test_events import post

TERMS = {"product": "Fibre 500", "price": {"amount": 3000, "currency": "eur"},
         "termMonths": 12, "earlyTerminationFee": 5000, "feePerRemainingMonth": 1000}


def commercial(event_id, kind, at, contract="C-1", isp="isp-1", **body):
    return {"eventId": event_id, "eventType": kind, "eventTime": at,
            "event": {"contract": contract, "isp": isp, **body}}


def network(event_id, kind, at, address=1, isp="isp-1"):
    return {"eventId": event_id, "eventType": f"service.{kind}", "eventTime": at,
            "event": {"address": address, "isp": isp}}


def billing(db_session):
    rows = db_session.execute(text(
        "SELECT topic, payload FROM outbox WHERE topic LIKE 'billing.%' ORDER BY id"))
    return [(topic, payload) for topic, payload in rows]


@pytest.fixture
def homes(db_session):
    add_addresses(db_session, 3, status="ready_for_service")


@pytest.mark.usefixtures("homes")
def test_activation_and_deactivation_start_and_stop_billing(client, keys, db_session):
    signed = post(client, keys, commercial("c1", "contract.signed", "2024-01-05T09:00:00Z",
                                           address=1, **TERMS))
    assert signed["accepted"] == 1
    post(client, keys, network("n1", "activated", "2024-02-15T10:00:00Z"))
    post(client, keys, network("n1", "activated", "2024-02-15T10:00:00Z"))  # a duplicate
    [(topic, start)] = billing(db_session)
    assert topic == "billing.start" and start["contract"] == "C-1" and start["isp"] == "isp-1"
    assert start["activated_at"].startswith("2024-02-15T10:00:00")
    # 15 to 29 February 2024 (a leap year): 3000 * 15 / 29 = 1551.72
    assert start["first_period"] == {
        "period_start": "2024-02-01", "period_end": "2024-03-01", "days_charged": 15,
        "days_in_period": 29, "price_minor": 3000, "amount_minor": 1552, "currency": "EUR"}

    post(client, keys, network("n2", "deactivated", "2024-03-10T08:00:00Z"))
    [_, (topic, stop)] = billing(db_session)
    assert topic == "billing.stop"
    assert stop["final_period"]["days_charged"] == 9  # 1 to 9 March
    assert stop["final_period"]["amount_minor"] == 871  # 3000 * 9 / 31 = 870.97
    # Ended in the term's first month: the fee and 11 months not yet begun.
    assert stop["early_termination_fee_minor"] == 5000 + 11 * 1000
    assert stop["currency"] == "EUR"


@pytest.mark.usefixtures("homes")
def test_a_contract_signed_after_the_activation_starts_billing_then(client, keys, db_session):
    post(client, keys, network("n1", "activated", "2024-04-30T10:00:00Z", address=2))
    assert billing(db_session) == []  # no contract yet: nothing to bill from
    post(client, keys, commercial("c1", "contract.signed", "2024-05-02T09:00:00Z",
                                  address=2, **TERMS))
    [(topic, start)] = billing(db_session)
    assert topic == "billing.start" and start["first_period"]["amount_minor"] == 100  # 1/30


@pytest.mark.usefixtures("homes")
def test_contract_changes_apply_in_time_order_and_bad_events_fail_alone(client, keys,
                                                                         db_session):
    result = post(client, keys, [
        commercial("c1", "contract.signed", "2024-01-05T09:00:00Z", address=1, **TERMS),
        commercial("c2", "contract.changed", "2024-03-01T09:00:00Z",
                   price={"amount": 3500, "currency": "EUR"}),
        commercial("c3", "contract.changed", "2024-02-01T09:00:00Z",
                   price={"amount": 9999, "currency": "EUR"}),  # applied before c2
        commercial("c4", "contract.signed", "2024-01-06T09:00:00Z", address=1, **TERMS),
        commercial("c5", "contract.signed", "2024-01-06T09:00:00Z", contract="C-2",
                   address=999, **TERMS),
        commercial("c6", "invoice.issued", "2024-03-02T09:00:00Z", contract="C-404",
                   amount={"amount": 3500, "currency": "EUR"}),
        commercial("c7", "invoice.issued", "2024-03-02T09:00:00Z",
                   amount={"amount": -5, "currency": "EUR"}),
        commercial("c8", "invoice.issued", "2024-03-02T09:00:00Z", invoice="INV-1",
                   amount={"amount": 3500, "currency": "EUR"}),
        network("n1", "activated", "2024-02-15T10:00:00Z"),
    ])
    reasons = {r["eventId"]: r["reason"] for r in result["results"]}
    assert [r["status"] for r in result["results"]] == [
        "accepted", "accepted", "accepted", "rejected", "rejected", "rejected", "rejected",
        "accepted", "accepted"]
    assert "already signed" in reasons["c4"]
    assert "address 999 is unknown" in reasons["c5"]
    assert "C-404 is unknown" in reasons["c6"]
    assert "non-negative integer" in reasons["c7"]
    late = post(client, keys, commercial("c9", "contract.changed", "2024-02-10T09:00:00Z",
                                         price={"amount": 1, "currency": "EUR"}))
    assert late["rejected"] == 1 and "stale" in late["results"][0]["reason"]
    price = db_session.execute(text("SELECT price_minor FROM contracts")).scalar_one()
    assert price == 3500  # c2, the latest by event time
    stored = db_session.execute(text(
        "SELECT event_id, outcome FROM commercial_events ORDER BY event_id")).all()
    assert [tuple(r) for r in stored] == [
        ("c1", "applied"), ("c2", "applied"), ("c3", "applied"), ("c4", "rejected"),
        ("c5", "invalid"), ("c6", "rejected"), ("c7", "invalid"), ("c8", "applied"),
        ("c9", "rejected")]


@pytest.mark.usefixtures("homes")
def test_an_isp_sees_only_its_own_contracts_and_commercial_events(client, keys, db_session):
    post(client, keys, [
        commercial("a", "contract.signed", "2024-01-05T09:00:00Z", address=1, **TERMS),
        commercial("b", "contract.signed", "2024-01-05T09:00:00Z", isp="isp-2", address=2,
                   **TERMS)])
    enter_isp_scope(db_session, "isp-1")
    try:
        contracts = db_session.execute(text("SELECT isp_id FROM contracts")).scalars().all()
        events = db_session.execute(text("SELECT event_id FROM commercial_events")).all()
    finally:
        leave_isp_scope(db_session)
    assert contracts == ["isp-1"] and [e[0] for e in events] == ["a"]
