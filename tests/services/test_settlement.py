"""Wholesale settlement against hand-computed statements (March 2024: 31 days)."""

import pytest
from sqlalchemy import text

from tests.api.test_api import assert_problem
from tests.seed import add_addresses


@pytest.fixture
def march(db_session):
    add_addresses(db_session, 6, status="connected")
    db_session.execute(text("""
        INSERT INTO services (address_feature_id, isp_id, status, product, activated_at,
                              status_since, last_event_time)
        VALUES (1, 'isp-1', 'active', 'Fibre 500', '2024-01-10', '2024-01-10', now()),
               (2, 'isp-1', 'active', 'Fibre 500', '2024-03-16', '2024-03-16', now()),
               (3, 'isp-1', 'ceased', 'Fibre 500', '2024-02-01', '2024-03-11', now()),
               (4, 'isp-1', 'active', 'Fibre 42', '2024-01-01', '2024-01-01', now()),
               (5, 'isp-2', 'active', 'Fibre 1000', '2024-02-01', '2024-02-01', now()),
               (6, 'isp-1', 'ceased', 'Fibre 500', '2024-01-01', '2024-02-20', now())"""))


def statements(client, headers, **query):
    reply = client.get("/assurance/settlements", params={"period": "2024-03", **query},
                       headers=headers)
    assert reply.status_code == 200, reply.text
    return {s["isp"]: s for s in reply.json()["statements"]}


@pytest.mark.usefixtures("march")
def test_the_expected_statement_against_the_isps_report(client, keys):
    reply = client.put("/assurance/settlements/isp-1/2024-03", headers=keys["isp"], json={
        "currency": "EUR", "lines": [{"address": 1, "amount": 2000},
                                     {"address": 2, "amount": 1000},
                                     {"address": 3, "amount": 645}]})
    assert reply.status_code == 204, reply.text
    found = statements(client, keys["bss"])
    mine = found["isp-1"]
    lines = {line["address"]: line for line in mine["lines"]}
    assert lines[1]["expected_minor"] == 2000 and lines[1]["days"] == 31
    assert lines[2]["expected_minor"] == 1032 and lines[2]["days"] == 16  # 1032.26
    assert lines[3]["expected_minor"] == 645 and lines[3]["days"] == 10  # ceased 11 March
    assert lines[4]["expected_minor"] is None and mine["unrated_lines"] == 1  # no rate
    assert 6 not in lines  # ceased in February
    assert lines[2]["variance_minor"] == -32 and lines[1]["variance_minor"] == 0
    assert (mine["expected_minor"], mine["reported_minor"], mine["variance_minor"]) == (
        3677, 3645, -32)
    assert mine["variance_ratio"] == pytest.approx(32 / 3677)
    assert found["isp-2"]["expected_minor"] == 2500 and found["isp-2"]["reported_minor"] is None

    metrics = client.get("/assurance/metrics", params={
        "start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
        headers=keys["bss"]).json()["metrics"]
    [variance] = [m for m in metrics if m["key"] == "settlement_variance"]
    assert variance["value"] == pytest.approx(32 / 3677) and variance["status"] == "amber"


@pytest.mark.usefixtures("march")
def test_an_isp_sees_and_reports_only_its_own(client, keys):
    assert statements(client, keys["isp"]).keys() == {"isp-1"}
    assert_problem(client.put("/assurance/settlements/isp-2/2024-03", headers=keys["isp"],
                              json={"currency": "EUR", "lines": []}), 403)
    assert_problem(client.get("/assurance/settlements", params={"period": "2024-13"},
                              headers=keys["bss"]), 422)
    assert_problem(client.put("/assurance/settlements/isp-1/2024-03", headers=keys["isp"],
                              json={"currency": "eur", "lines": []}), 422)
