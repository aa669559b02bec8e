"""Liveness and readiness: the only routes that answer without a key."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.problems import problem
from migrations import alembic_config

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> dict[str, str] | JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config("")).get_heads())
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as error:
        return problem(503, f"The database is not reachable: {type(error).__name__}")
    if current != heads:
        return problem(503, f"The database schema is at {sorted(current) or 'nothing'}, "
                            f"not at {sorted(heads)}; run `fibersync db upgrade`.")
    return {"status": "ready", "schema": ",".join(sorted(heads))}
