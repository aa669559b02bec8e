"""Pages: static shells without data (they call the API with the user's key), so they load
without one. `/` is the planner's map, `/field` the technician's phone page, `/assurance`
finance's and the board's page. The browser libraries come from `web/node_modules`
(installed from the npm registry by the set-up command), never from a CDN."""

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from gis.errors import NotFound

PAGES = Path(__file__).resolve().parent.parent / "pages"
NODE_MODULES = Path(__file__).resolve().parents[2] / "web" / "node_modules"
# What the pages may load from node_modules, by the name they ask for.
VENDOR = {
    "maplibre-gl.js": ("maplibre-gl/dist/maplibre-gl.js", "text/javascript"),
    "maplibre-gl.css": ("maplibre-gl/dist/maplibre-gl.css", "text/css"),
    "terra-draw.js": ("terra-draw/dist/terra-draw.umd.js", "text/javascript"),
    "terra-draw-maplibre-gl-adapter.js": (
        "terra-draw-maplibre-gl-adapter/dist/terra-draw-maplibre-gl-adapter.umd.js",
        "text/javascript"),
}
router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/")
def map_page(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    config = {"basemapUrl": settings.basemap_url,
              "basemapAttribution": settings.basemap_attribution}
    # "</" cannot close the script element from inside the JSON.
    page = (PAGES / "map.html").read_text().replace(
        "{{ config }}", json.dumps(config).replace("</", "<\\/"))
    return HTMLResponse(page)


@router.get("/field")
def field() -> FileResponse:
    return FileResponse(PAGES / "field.html", media_type="text/html")


@router.get("/field/app.js")
def field_script() -> FileResponse:
    return FileResponse(PAGES / "field.js", media_type="text/javascript")


@router.get("/pages/common.js")
def common_script() -> FileResponse:
    return FileResponse(PAGES / "common.js", media_type="text/javascript")


@router.get("/map/app.js")
def map_script() -> FileResponse:
    return FileResponse(PAGES / "map.js", media_type="text/javascript")


@router.get("/map/app.css")
def map_style() -> FileResponse:
    return FileResponse(PAGES / "map.css", media_type="text/css")


@router.get("/assurance")
def assurance_page() -> FileResponse:
    return FileResponse(PAGES / "assurance.html", media_type="text/html")


@router.get("/assurance/app.js")
def assurance_script() -> FileResponse:
    return FileResponse(PAGES / "assurance.js", media_type="text/javascript")


@router.get("/assurance/app.css")
def assurance_style() -> FileResponse:
    return FileResponse(PAGES / "assurance.css", media_type="text/css")


@router.get("/vendor/{name}")
def vendor(name: str) -> FileResponse:
    if name not in VENDOR:
        raise NotFound(f"no browser library {name!r}")
    path, media = VENDOR[name]
    if not (NODE_MODULES / path).is_file():
        raise NotFound(f"{name} is not installed: run `npm ci` in web/ "
                       "(the set-up command does)")
    return FileResponse(NODE_MODULES / path, media_type=media,
                        headers={"Cache-Control": "public, max-age=86400"})
