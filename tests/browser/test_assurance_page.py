"""The finance and board page in a real browser: metrics with their colours and trends, and
the open exceptions by severity."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth import create_api_key
from gis.status import Role
from services.assurance import Rules, scan
from tests.seed import add_addresses

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.usefixtures("committed"),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is needed")]


@pytest.fixture
def books(engine):
    """Two active services; one has no contract (a red exception), one is not invoiced."""
    long_ago = datetime.now(UTC) - timedelta(days=70)
    with Session(engine) as session:
        add_addresses(session, 2, status="connected")
        session.execute(text("""
            INSERT INTO services (address_feature_id, isp_id, status, speed_profile, product,
                                  activated_at, status_since, last_event_time)
            SELECT n, 'isp-1', 'active', '500/100', 'Fibre 500', :at, :at, :at
            FROM generate_series(1, 2) AS n"""), {"at": long_ago})
        session.execute(text("""
            INSERT INTO contracts (isp_id, contract_ref, address_feature_id, product,
                                   price_minor, currency, status, signed_at, last_event_time)
            VALUES ('isp-1', 'C-2', 2, 'Fibre 500', 3000, 'EUR', 'active', :at, :at)"""),
                        {"at": long_ago})
        scan(session, Rules({"Fibre 500": "500/100"}), datetime.now(UTC))
        plain, _ = create_api_key(session, Role.bss, "finance", None, None)
        session.commit()
    return plain


def test_the_board_sees_metrics_and_exceptions(live_server, books):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{live_server}/assurance")
        page.fill("#key", books)
        page.click("#sign-in-go")
        unbilled = page.locator("[data-metric='active_but_unbilled_rate']")
        expect(unbilled).to_contain_text("100.00 %")  # 2 active, none invoiced
        expect(unbilled).to_have_attribute("data-status", "red")
        expect(page.locator("[data-metric='settlement_variance']")).to_contain_text(
            "no ISP has reported")
        # Both services were active all of last month at the Fibre 500 rate, 20.00 each.
        expect(page.locator("tr[data-isp='isp-1']")).to_contain_text("40.00")
        expect(page.locator("tr[data-isp='isp-1']")).to_contain_text("not reported")
        expect(page.locator("[data-metric='data_quality_failure_rate']")).to_have_attribute(
            "data-status", "none")  # no orders: missing, not zero
        expect(page.locator("table[data-severity='red']")).to_contain_text(
            "active without contract")
        expect(page.locator("table[data-severity='amber']")).to_contain_text(
            "activation not invoiced")
        expect(page.locator("[data-metric='active_but_unbilled_rate'] svg.trend")).to_have_count(1)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "assurance.png"), full_page=True)
        browser.close()
