"""The planner's map in a real browser (Debian's Chromium, software WebGL, no CDN, no
internet): addresses render from the vector tiles, a polygon drawn with mouse clicks becomes
an area, the dry-run counts are shown, and confirming moves the addresses into deployment."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth import create_api_key
from gis.status import Role
from tests.seed import add_addresses, add_area, grid_box

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.usefixtures("committed"),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is needed")]
RENDERED = """layer => [...new Map(window.fibersyncMap.queryRenderedFeatures({layers: [layer]})
                      .map(f => [f.properties.feature_id, f.properties])).values()]"""


@pytest.fixture
def town(engine):
    """A 10 x 10 grid of planned addresses and a planner's key."""
    with Session(engine) as session:
        add_addresses(session, 100, columns=10)
        plain, _ = create_api_key(session, Role.planner, "map", None, None)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE addresses"))  # the page fits the view to the estimated extent
    return plain


@pytest.fixture
def page(live_server, request):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []
        # Nothing may come from anywhere but the app itself.
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(live_server)
                      else (outside.append(route.request.url), route.abort()))
        page = context.new_page()
        page.goto(live_server + "/")
        yield page
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
        browser.close()
        assert outside == []


def sign_in(page: Page, key: str) -> None:
    page.fill("#key", key)
    page.click("#sign-in-go")
    page.wait_for_function("() => window.fibersyncMap && window.fibersyncMap.loaded()")


def wait_for_statuses(page: Page, expected: dict[str, int]) -> list[dict]:
    page.wait_for_function(
        f"""expected => {{
              const counts = {{}};
              for (const p of ({RENDERED})('addresses'))
                counts[p.status] = (counts[p.status] || 0) + 1;
              return JSON.stringify(counts) === JSON.stringify(expected);
            }}""", arg=expected, timeout=20_000)
    return page.evaluate(RENDERED, "addresses")


def click_at(page: Page, lon: float, lat: float) -> None:
    box = page.locator("#map").bounding_box()
    assert box is not None
    point = page.evaluate("([lon, lat]) => window.fibersyncMap.project([lon, lat])", [lon, lat])
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_a_planner_draws_an_area_and_moves_it_into_deployment(town, page, engine):
    sign_in(page, town)
    rendered = wait_for_statuses(page, {"planned": 100})
    assert page.evaluate("window.fibersyncMap.getZoom()") >= 14  # fitted to the town
    assert {p["feature_id"] for p in rendered} == set(range(1, 101))

    # Draw around the middle 5 x 5 of the grid with mouse clicks, closing on the first corner.
    page.click("#draw")
    ring = grid_box(2, 2, 6, 6)["coordinates"][0]
    for lon, lat in ring[:4]:
        click_at(page, lon, lat)
        page.wait_for_timeout(150)
    click_at(page, *ring[0])
    page.fill("#area-name", "Middle block")
    page.click("#save-area")

    page.click("#preview")
    expect(page.locator("[data-count='addresses to survey']")).to_have_text("25")
    page.click("#confirm")
    expect(page.locator("#area-status")).to_have_text("surveyed")
    page.click("#preview")
    expect(page.locator("[data-count='work orders']")).to_have_text("25")
    expect(page.locator("[data-count='tasks']")).to_have_text("200")
    with Session(engine) as session:  # the dry run wrote nothing
        assert session.execute(text("SELECT count(*) FROM work_orders")).scalar_one() == 0
    page.click("#confirm")
    expect(page.locator("#area-status")).to_have_text("in_deployment")

    with Session(engine) as session:
        moved = session.execute(text(
            "SELECT array_agg(feature_id ORDER BY feature_id) FROM addresses "
            "WHERE status = 'in_deployment'")).scalar_one()
        orders = session.execute(text("SELECT count(*) FROM work_orders "
                                      "WHERE status = 'open'")).scalar_one()
    assert moved == [row * 10 + col + 1 for row in range(2, 7) for col in range(2, 7)]
    assert orders == 25
    # The map refreshed: the moved addresses are drawn with their new status.
    rendered = wait_for_statuses(page, {"planned": 75, "in_deployment": 25})
    assert {p["feature_id"] for p in rendered if p["status"] == "in_deployment"} == set(moved)
    assert all(p["work_order"] == "open" for p in rendered if p["status"] == "in_deployment")

    # A click on a moved address shows its details, with its work order.
    click_at(page, 0.102, 52.102)
    expect(page.locator("#address-table")).to_contain_text("in_deployment")
    expect(page.locator("#address-table")).to_contain_text("deployment, open")


def test_search_flies_to_the_address_and_errors_read_well(town, page, tmp_path):
    sign_in(page, town)
    page.fill("#query", "57")
    page.click("#search button")
    expect(page.locator("#address-table")).to_contain_text("57")
    page.wait_for_function("() => !window.fibersyncMap.isMoving() && "
                           "window.fibersyncMap.getZoom() > 16.9")
    center = page.evaluate("window.fibersyncMap.getCenter().toArray()")
    assert center == pytest.approx([0.1 + 6 * 0.001, 52.1 + 5 * 0.001], abs=1e-5)

    page.fill("#query", "house 4")  # any case: names "House 4", "House 40".."House 49"
    page.click("#search button")
    expect(page.locator("#results li")).to_have_count(10)

    bad = tmp_path / "areas.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Bow tie"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1],
                                                         [0, 0]]]}}]}))
    page.set_input_files("#upload", str(bad))
    expect(page.locator("#message.problem")).to_contain_text("feature 0")
    expect(page.locator("#message.problem")).to_contain_text("Self-intersection")


def test_the_page_follows_a_running_import(town, page, engine):
    with Session(engine) as session:
        run_id = session.execute(text(
            "INSERT INTO sync_runs (state, phase, started_by, total_estimate, features_read) "
            "VALUES ('running', 'addresses', 'test', 1000, 250) RETURNING id")).scalar_one()
        session.commit()
    sign_in(page, town)
    expect(page.locator("#import-text")).to_contain_text("250 addresses")
    with Session(engine) as session:
        session.execute(text("UPDATE sync_runs SET state = 'succeeded', phase = 'done', "
                             "features_read = 1000, inserted = 1000 WHERE id = :id"),
                        {"id": run_id})
        session.commit()
    expect(page.locator("#import-text")).to_contain_text("succeeded", timeout=10_000)
    expect(page.locator("#import-text")).to_contain_text("1,000 new")
    assert page.locator("#import-bar").evaluate("bar => bar.value") == 1



def test_an_uploaded_area_file_is_shown_with_its_next_step(town, page, tmp_path):
    sign_in(page, town)
    good = tmp_path / "areas.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Uploaded"},
        "geometry": grid_box(0, 0, 1, 1)}]}))
    page.set_input_files("#upload", str(good))
    expect(page.locator("#message")).to_contain_text("1 area(s) uploaded: Uploaded")
    expect(page.locator("#area-status")).to_have_text("planned")
    page.click("#preview")
    expect(page.locator("[data-count='addresses to survey']")).to_have_text("4")


def test_clicking_an_existing_area_picks_it(town, page, engine):
    with Session(engine) as session:
        add_area(session, grid_box(0, 0, 1, 1), "Picked", status="surveyed")
        session.commit()
    sign_in(page, town)
    page.wait_for_function("() => window.fibersyncMap.queryRenderedFeatures("
                           "{layers: ['areas-fill']}).length > 0")
    click_at(page, 0.1005, 52.1005)  # inside the area, between four addresses
    expect(page.locator("#area h2")).to_have_text("Area “Picked”")
    expect(page.locator("#area-status")).to_have_text("surveyed")
    page.click("#preview")
    expect(page.locator("[data-count='work orders']")).to_have_text("4")
