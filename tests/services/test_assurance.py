"""Assurance exceptions from a world built by events: every planted mismatch is found, and
nothing else; exceptions clear when their condition ends, and a person's resolution holds."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.api.test_api import assert_problem
from tests.seed import add_addresses
from tests.services.test_contracts import commercial
from tests.services.test_events import post

NOW = datetime.now(UTC)
LONG_AGO = (NOW - timedelta(days=40)).isoformat()
RECENT = (NOW - timedelta(days=1)).isoformat()
ISPS = ("isp-a", "isp-b", "isp-c")


def activated(event_id, address, isp, at=LONG_AGO, profile="500/100", ont=None):
    return {"eventId": event_id, "eventType": "service.activated", "eventTime": at,
            "event": {"address": address, "isp": isp, "speedProfile": profile,
                      "ontSerial": ont or f"ONT-{address}"}}


def signed(event_id, address, isp, product="Fibre 500", at=LONG_AGO, **extra):
    return commercial(event_id, "contract.signed", at, contract=f"C-{address}", isp=isp,
                      address=address, product=product,
                      price={"amount": 3000, "currency": "EUR"}, **extra)


def invoice(event_id, address, isp, amount=3000, at=RECENT):
    return commercial(event_id, "invoice.issued", at, contract=f"C-{address}", isp=isp,
                      amount={"amount": amount, "currency": "EUR"})


@pytest.fixture
def world(client, keys, db_session):
    """300 healthy services across three ISPs, and one of each mismatch planted."""
    add_addresses(db_session, 310, status="connected")
    healthy = []
    for n in range(1, 301):
        isp = ISPS[n % 3]
        healthy += [signed(f"s{n}", n, isp), activated(f"a{n}", n, isp),
                    invoice(f"i{n}", n, isp)]
    planted = [
        activated("a301", 301, "isp-a"),  # active, no contract
        signed("s302", 302, "isp-b"), activated("a302", 302, "isp-b", profile="100/20"),
        invoice("i302", 302, "isp-b"),  # sold 500/100, network runs 100/20
        signed("s303", 303, "isp-c"), activated("a303", 303, "isp-c", ont="ONT-1"),
        invoice("i303", 303, "isp-c"),  # address 1's ONT, at address 303
        signed("s304", 304, "isp-a"),  # contract 40 days old, never activated
        signed("s305", 305, "isp-b", promotion={"price": 1500, "start": "2020-01-01",
                                              "end": "2020-12-31"}),
        activated("a305", 305, "isp-b"), invoice("i305", 305, "isp-b", amount=1500),
        signed("s306", 306, "isp-c"), activated("a306", 306, "isp-c"),  # never invoiced
        signed("s307", 307, "isp-a", at=RECENT),  # within the grace period: fine
    ]
    events = healthy + planted
    for first in range(0, len(events), 150):  # the tests' body limit is 64 KiB
        result = post(client, keys, events[first:first + 150])
        assert result["rejected"] == 0, [r for r in result["results"] if r["reason"]]


def open_exceptions(client, keys, role="bss", **query):
    reply = client.get("/assurance/exceptions", params={"limit": 1000, **query},
                       headers=keys[role])
    assert reply.status_code == 200, reply.text
    return {(e["kind"], e["address_feature_id"], e["isp_id"]): e
            for e in reply.json()["exceptions"]}


EXPECTED = {
    ("active_without_contract", 301, "isp-a"): "red",
    ("speed_mismatch", 302, "isp-b"): "red",
    ("device_elsewhere", 303, "isp-c"): "red",
    ("device_elsewhere", 1, "isp-b"): "red",  # the ONT is at two addresses: both are told
    ("contract_without_network", 304, "isp-a"): "amber",
    ("promotion_expired", 305, "isp-b"): "amber",
    ("activation_not_invoiced", 306, "isp-c"): "amber",
}


@pytest.mark.usefixtures("world")
def test_events_find_every_planted_mismatch_and_nothing_else(client, keys):
    found = open_exceptions(client, keys)
    assert {k: e["severity"] for k, e in found.items()} == EXPECTED
    assert found[("speed_mismatch", 302, "isp-b")]["evidence"] == {
        "product_sold": "Fibre 500", "profile_sold": "500/100",
        "profile_in_network": "100/20"}
    assert found[("device_elsewhere", 303, "isp-c")]["evidence"]["seen_at_addresses"] == [1]
    assert found[("promotion_expired", 305, "isp-b")]["evidence"]["invoices"] == ["i305"]
    # A full scan agrees with what the events computed one by one.
    scan = client.post("/assurance/scans", headers=keys["bss"]).json()
    assert (scan["found"], scan["opened"], scan["cleared"]) == (len(EXPECTED), 0, 0)
    assert open_exceptions(client, keys, severity="amber").keys() == {
        k for k, s in EXPECTED.items() if s == "amber"}


@pytest.mark.usefixtures("world")
def test_an_exception_clears_when_its_condition_ends(client, keys):
    post(client, keys, signed("late", 301, "isp-a"))  # the missing contract arrives
    assert ("active_without_contract", 301, "isp-a") not in open_exceptions(client, keys)
    [cleared] = open_exceptions(client, keys, state="resolved", kind="active_without_contract"
                                ).values()
    assert cleared["resolved_by"] == "fibersync" and cleared["resolution_code"] == "cleared"


@pytest.mark.usefixtures("world")
def test_a_resolution_is_kept_with_who_and_why_until_the_evidence_changes(client, keys,
                                                                         db_session):
    target = open_exceptions(client, keys)[("speed_mismatch", 302, "isp-b")]
    reply = client.post(f"/assurance/exceptions/{target['id']}/resolve",
                        json={"code": "waived", "note": "trial upgrade"}, headers=keys["bss"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["resolved_by"].startswith("api key")
    client.post("/assurance/scans", headers=keys["bss"])
    assert ("speed_mismatch", 302, "isp-b") not in open_exceptions(client, keys)
    assert_problem(client.post(f"/assurance/exceptions/{target['id']}/resolve",
                               json={"code": "again"}, headers=keys["bss"]), 409)
    assert_problem(client.post("/assurance/exceptions/999999/resolve",
                               json={"code": "x"}, headers=keys["bss"]), 404)
    # The network changes again: new evidence, a new exception.
    post(client, keys, {"eventId": "chg", "eventType": "service.changed",
                        "eventTime": RECENT, "event": {"address": 302, "isp": "isp-b",
                                                       "speedProfile": "1000/200"}})
    assert ("speed_mismatch", 302, "isp-b") in open_exceptions(client, keys)


@pytest.mark.usefixtures("world")
def test_an_isp_sees_only_its_own_exceptions_and_cannot_resolve(client, keys, db_session):
    db_session.execute(text("UPDATE api_keys SET isp_id = 'isp-b' WHERE role = 'isp'"))
    mine = open_exceptions(client, keys, role="isp")
    assert mine.keys() == {k for k in EXPECTED if k[2] == "isp-b"}
    any_id = next(iter(mine.values()))["id"]
    assert_problem(client.post(f"/assurance/exceptions/{any_id}/resolve",
                               json={"code": "x"}, headers=keys["isp"]), 403)
    assert_problem(client.post("/assurance/scans", headers=keys["isp"]), 403)


@pytest.mark.usefixtures("world")
def test_rebinding_the_device_clears_both_addresses(client, keys):
    post(client, keys, {"eventId": "rebind", "eventType": "service.changed",
                        "eventTime": RECENT, "event": {"address": 303, "isp": "isp-c",
                                                       "ontSerial": "ONT-303"}})
    still_open = open_exceptions(client, keys)
    assert ("device_elsewhere", 303, "isp-c") not in still_open
    assert ("device_elsewhere", 1, "isp-b") not in still_open
