"""A request's transaction ends before its reply leaves: whoever reads the reply and asks
again sees what the reply confirmed."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.auth import create_api_key
from api.settings import ApiSettings
from gis.status import Role
from tests.seed import grid_box


@pytest.mark.usefixtures("committed")
def test_a_write_is_committed_before_its_reply_is_sent(api_settings: ApiSettings,
                                                        engine: Engine) -> None:
    with Session(engine) as session:
        plain, _ = create_api_key(session, Role.planner, "planner", None, None)
        session.commit()
    app = create_app(api_settings, engine=engine)
    areas_seen_by_others: list[int] = []

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_after_looking(message: Message) -> None:
            if message["type"] == "http.response.start":
                with engine.connect() as other:
                    areas_seen_by_others.append(
                        other.execute(text("SELECT count(*) FROM areas")).scalar_one())
            await send(message)
        await app(scope, receive, send_after_looking)

    with TestClient(watched) as client:
        reply = client.post("/areas", headers={"Authorization": f"Bearer {plain}"}, json={
            "type": "Feature", "properties": {"name": "Phase 1"},
            "geometry": grid_box(0, 0, 2, 2)})
    assert reply.status_code == 201, reply.text
    assert areas_seen_by_others == [1]
