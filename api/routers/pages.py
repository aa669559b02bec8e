"""Pages: static shells without data (they call the API with the user's key), so they load
without one. `/field` is the technician's phone page."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

PAGES = Path(__file__).resolve().parent.parent / "pages"
router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/field")
def field() -> FileResponse:
    return FileResponse(PAGES / "field.html", media_type="text/html")


@router.get("/field/app.js")
def field_script() -> FileResponse:
    return FileResponse(PAGES / "field.js", media_type="text/javascript")
