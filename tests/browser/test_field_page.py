"""The technician's phone page in a real browser (Debian's Chromium, phone-sized): a work
order completed end to end, with a refusal, a photo and a dropped connection on the way."""

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth import create_api_key
from gis.status import Role
from tests.seed import add_addresses
from workorders.orders import create_connection_order

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.usefixtures("committed"),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is needed")]


@pytest.fixture
def job(engine):
    """A connection order at a built address, and a key for the contractor doing it."""
    with Session(engine) as session:
        add_addresses(session, 1, status="ready_for_service")
        session.execute(text("""
            INSERT INTO services (address_feature_id, isp_id, status, speed_profile,
                                  status_since, last_event_time)
            VALUES (1, 'isp-1', 'active', '500/100', now(), now())"""))
        order = create_connection_order(session, 1, "test")
        plain, _ = create_api_key(session, Role.technician, "phone", None, "contractor-1")
        session.commit()
    return order, plain


def photo(tmp_path):
    path = tmp_path / "ont.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_technician_completes_a_work_order_from_a_phone(live_server, job, engine,
                                                         tmp_path):
    order_id, key = job
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{live_server}/field")
        page.fill("#key", key)
        page.click("#go")
        card = page.locator(f"[data-order='{order_id}']")
        expect(card).to_contain_text("House 0")
        card.locator("button.open").click()

        task = page.locator("[data-task='1']")
        task.locator("input[name=serial]").fill("ALCL00001234")
        task.locator("form[data-kind=ont_serial] button").click()
        expect(page.locator("#flash")).to_have_text("Saved")
        page.locator("[data-task='1'] input[type=file]").set_input_files(str(photo(tmp_path)))
        page.locator("[data-task='1'] form[data-kind=photo] button").click()
        expect(page.locator("[data-task='1'] ul.evidence li")).to_have_count(2)
        expect(page.locator("#flash")).to_have_text("Saved")
        page.locator("[data-task='1'] button.done").click()
        expect(page.locator("#flash")).to_have_text("Task done")  # else: the server's reason
        expect(page.locator("[data-task='1'] .status")).to_have_text("done")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "field-order.png"), full_page=True)

        # A refusal is explained, and nothing is lost.
        page.locator("[data-task='2'] button.done").click()
        expect(page.locator("#flash")).to_contain_text("received_power_dbm")
        page.locator("[data-task='2'] input[name=dbm]").fill("-31")
        page.locator("[data-task='2'] form[data-kind=light_level] button").click()
        expect(page.locator("#flash")).to_contain_text("between -28 and -8 dBm")
        # The connection drops while sending: the entry is kept and sent once it is back.
        page.locator("[data-task='2'] input[name=dbm]").fill("-19.5")
        context.set_offline(True)
        page.locator("[data-task='2'] form[data-kind=light_level] button").click()
        expect(page.locator("#flash")).to_contain_text("No connection")
        context.set_offline(False)
        expect(page.locator("[data-task='2'] ul.evidence li")).to_have_count(1, timeout=15000)
        page.locator("[data-task='2'] button.done").click()
        expect(page.locator("[data-task='2'] .status")).to_have_text("done")

        speed = page.locator("[data-task='3']")
        speed.locator("input[name=down_mbps]").fill("470")
        speed.locator("input[name=up_mbps]").fill("96")
        speed.locator("form[data-kind=speed_test] button").click()
        expect(page.locator("[data-task='3'] ul.evidence li")).to_have_count(1)
        page.locator("[data-task='3'] button.done").click()
        expect(page.locator("[data-task='3'] .status")).to_have_text("done")
        page.locator("[data-task='4'] input[name=signed_by]").fill("A. Customer")
        page.locator("[data-task='4'] form[data-kind=signature] button").click()
        expect(page.locator("#flash")).to_have_text("Saved")
        expect(page.locator("[data-task='4'] ul.evidence li")).to_have_count(1)
        page.locator("[data-task='4'] button.done").click()
        expect(page.locator("#flash")).to_have_text("Work order completed. Thank you!")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "field-completed.png"), full_page=True)
        browser.close()

    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM work_orders WHERE id = :id"),
                              {"id": order_id}).scalar()
        evidence = dict(conn.execute(text(
            "SELECT kind, count(*) FROM task_evidence GROUP BY 1")).all())
    assert status == "completed"
    assert evidence == {"ont_serial": 1, "photo": 1, "light_level": 1, "speed_test": 1,
                        "signature": 1}
