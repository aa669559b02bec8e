"""The first load of contracts from a CSV: set-based, all or nothing, no double billing."""

import io

import pytest
from sqlalchemy import text

from gis.errors import InvalidInput
from services.contract_load import load_contracts
from services.contracts import emit_billing
from tests.seed import add_addresses

CSV = """isp,contract,address,product,price_minor,currency,signed_at,term_months
isp-a,C-1,1,Fibre 500,3000,eur,2024-01-01T00:00:00Z,12
isp-a,C-2,2,Fibre 100,2000,EUR,2024-01-02T00:00:00Z,
isp-a,C-9,999,Fibre 500,3000,EUR,2024-01-03T00:00:00Z,0
"""


@pytest.fixture
def homes(db_session):
    add_addresses(db_session, 3, status="connected")
    db_session.execute(text("""
        INSERT INTO services (address_feature_id, isp_id, status, activated_at, status_since,
                              last_event_time)
        VALUES (1, 'isp-a', 'active', '2024-01-05', '2024-01-05', '2024-01-05')"""))


@pytest.mark.usefixtures("homes")
def test_a_first_load_and_a_second_one(db_session):
    first = load_contracts(db_session, io.StringIO(CSV))
    assert (first.read, first.loaded, first.already_known, first.unknown_address) == (
        3, 2, 0, 1)
    rows = db_session.execute(text(
        "SELECT contract_ref, currency, term_months, billing_started_for IS NOT NULL "
        "FROM contracts ORDER BY contract_ref")).all()
    assert [tuple(r) for r in rows] == [("C-1", "EUR", 12, True), ("C-2", "EUR", 0, False)]
    # The active service is already billed by the BSS: no billing.start for it.
    emit_billing(db_session, {(1, "isp-a")})
    assert db_session.execute(text(
        "SELECT count(*) FROM outbox WHERE topic = 'billing.start'")).scalar_one() == 0
    again = load_contracts(db_session, io.StringIO(CSV))
    assert (again.loaded, again.already_known, again.unknown_address) == (0, 2, 1)


@pytest.mark.usefixtures("homes")
def test_a_bad_file_loads_nothing_and_says_why(db_session):
    with pytest.raises(InvalidInput, match="unknown \\['colour'\\]"):
        load_contracts(db_session, io.StringIO("isp,contract,address,product,price_minor,"
                                               "currency,signed_at,colour\n"))
    with pytest.raises(InvalidInput, match=r"nothing was loaded.*abc"):
        load_contracts(db_session, io.StringIO(CSV.replace(",3000,eur,", ",abc,eur,")))
