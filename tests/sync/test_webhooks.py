"""Webhooks: registered at /hub, fanned out from the outbox, signed, retried, ISP-scoped."""

import hashlib
import hmac
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.events import IncomingEvent, record_events
from sync.webhooks import create_subscription
from sync.worker import Worker
from tests.api.test_api import assert_problem
from tests.seed import add_addresses
from tests.sync.test_worker import FAST


class Receiver:
    """An HTTP endpoint that records what it is sent and answers with the next status."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.server.shutdown()


def subscribe(engine, url, types=(), isp=None):
    with Session(engine) as session:
        subscription = create_subscription(session, url, list(types), isp, 1)
        session.commit()
        return subscription.secret


def activate(engine, address, isp):
    with Session(engine) as session:
        record_events(session, [IncomingEvent(
            payload={}, event_id=f"{address}-{isp}", event_type="activated",
            event_time=datetime.fromisoformat("2026-11-02T10:00:00+00:00"), address=address,
            isp=isp, attributes={})])
        session.commit()


def drain(worker):
    while worker.run_once():
        pass


@pytest.mark.usefixtures("committed")
def test_a_delivery_is_signed_and_carries_its_id(engine, sim, receiver):
    secret = subscribe(engine, receiver.url, ["service.changed"])
    with Session(engine) as session:
        add_addresses(session, 1)
        session.commit()
    activate(engine, 1, "isp-1")
    drain(Worker(engine, FAST, sim[1]))

    [(headers, body)] = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-FiberSync-Signature"] == expected
    assert headers["X-FiberSync-Delivery"].isdigit()
    event = json.loads(body)
    assert event["eventType"] == "service.changed"
    assert event["event"]["isp"] == "isp-1" and event["event"]["status"] == "active"


@pytest.mark.usefixtures("committed")
def test_an_isp_receives_only_its_own_events(engine, sim, receiver):
    subscribe(engine, receiver.url, isp="isp-1")
    with Session(engine) as session:
        add_addresses(session, 2)
        session.commit()
    activate(engine, 1, "isp-1")
    activate(engine, 2, "isp-2")
    drain(Worker(engine, FAST, sim[1]))
    isps = [json.loads(body)["event"]["isp"] for _, body in receiver.received]
    assert isps == ["isp-1"]


@pytest.mark.usefixtures("committed")
def test_failed_deliveries_are_retried_then_delivered_once(engine, sim, receiver):
    subscribe(engine, receiver.url)
    with Session(engine) as session:
        add_addresses(session, 1)
        session.commit()
    receiver.statuses = [500, 503]
    activate(engine, 1, "isp-1")
    worker = Worker(engine, FAST, sim[1])
    for _ in range(50):
        worker.run_once()
        with engine.connect() as conn:
            done = conn.execute(text("SELECT delivered_at IS NOT NULL, attempts "
                                     "FROM webhook_deliveries")).one()
        if done[0]:
            break
    assert tuple(done) == (True, 3)
    ids = {headers["X-FiberSync-Delivery"] for headers, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1  # the same delivery, retried


@pytest.mark.usefixtures("committed")
def test_a_gone_receiver_is_parked_not_retried(engine, sim, receiver):
    subscribe(engine, receiver.url)
    with Session(engine) as session:
        add_addresses(session, 1)
        session.commit()
    receiver.statuses = [410]
    activate(engine, 1, "isp-1")
    drain(Worker(engine, FAST, sim[1]))
    with engine.connect() as conn:
        parked, error = conn.execute(text(
            "SELECT parked_at IS NOT NULL, last_error FROM webhook_deliveries")).one()
    assert parked and error == "HTTP 410 from the receiver"
    assert len(receiver.received) == 1


def test_hub_registration_over_http(client, keys):
    created = client.post("/hub", json={"callback": "https://isp.example/hooks",
                                        "query": "eventType=service.changed"},
                          headers=keys["isp"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["isp"] == "isp-1" and len(body["secret"]) > 30
    assert body["query"] == "eventType=service.changed"
    mine = client.get("/hub", headers=keys["isp"]).json()
    assert [s["id"] for s in mine] == [body["id"]] and "secret" not in mine[0]
    assert client.get("/hub", headers=keys["bss"]).json() == []
    assert_problem(client.delete(f"/hub/{body['id']}", headers=keys["bss"]), 404)
    assert client.delete(f"/hub/{body['id']}", headers=keys["isp"]).status_code == 204


@pytest.mark.parametrize("body", [{"callback": "not a url"},
                                  {"callback": "ftp://x.example/"},
                                  {"callback": "https://x.example/", "query": "colour=red"}])
def test_bad_registrations_are_refused(client, keys, body):
    assert_problem(client.post("/hub", json=body, headers=keys["bss"]), 422)


def test_planners_and_technicians_cannot_register(client, keys):
    for role in ("planner", "technician"):
        assert_problem(client.post("/hub", json={"callback": "https://x.example/"},
                                   headers=keys[role]), 403)
