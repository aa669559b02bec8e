"""Idempotency-Key: a repeated request (a double tap, a retry after a lost reply) gets the
first reply back instead of acting twice."""

from collections.abc import Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.auth import Principal
from workorders.models import IdempotentRequest

HEADER = "Idempotency-Key"


def once(session: Session, principal: Principal, key: str | None, status: int,
         action: Callable[[], Any]) -> JSONResponse:
    """Runs `action` unless this key (for this API key) was seen; the claim on the key is
    taken first, so a concurrent duplicate waits for the original and then replays it."""
    if not key:
        return JSONResponse(jsonable_encoder(action()), status_code=status)
    ident = (key[:200], principal.key_id)
    with session.begin_nested():  # a refused action releases the key for a corrected retry
        claimed = session.execute(insert(IdempotentRequest).values(
            key=ident[0], api_key_id=ident[1], status_code=0, response=None)
            .on_conflict_do_nothing().returning(IdempotentRequest.key)).first()
        if claimed is None:
            seen = session.get_one(IdempotentRequest, ident)
            return JSONResponse(seen.response, status_code=seen.status_code,
                                headers={"Idempotent-Replayed": "true"})
        body = jsonable_encoder(action())
        session.execute(update(IdempotentRequest).where(
            IdempotentRequest.key == ident[0], IdempotentRequest.api_key_id == ident[1])
            .values(status_code=status, response=body))
    return JSONResponse(body, status_code=status)
