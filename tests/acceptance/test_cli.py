"""The `fibersync` command as a user runs it: real processes, one killed mid-import."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_api_key, hash_key
from fixtures.iqgeo_sim import FaultRule
from gis.status import Role
from sync.importing import run_sync
from tests.sync.test_import import ALL_INDEXES, indexes, snapshot

FIBERSYNC = [sys.executable, "-m", "api.cli"]


def env_for(database_url, settings=None, **extra):
    env = {**os.environ, "DATABASE_URL": database_url, **extra}
    if settings is not None:
        env.update(IQGEO_URL=settings.url, IQGEO_PAGE_SIZE=str(settings.page_size))
    return env


@pytest.mark.usefixtures("committed")
def test_keys_create_prints_the_key_alone_on_the_last_line(database_url, engine, repo_root):
    done = subprocess.run([*FIBERSYNC, "keys", "create", "--role", "isp", "--isp", "isp-9"],
                          env=env_for(database_url), cwd=repo_root, capture_output=True,
                          text=True, timeout=60, check=True)
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("fsk_") and " " not in key
    with engine.connect() as conn:
        row = conn.execute(text("SELECT role, isp_id FROM api_keys WHERE key_hash = :h"),
                           {"h": hash_key(key)}).one()
    assert tuple(row) == ("isp", "isp-9")


@pytest.mark.usefixtures("committed")
def test_a_revoked_key_is_refused_at_once_by_a_caching_api(api_settings, engine, database_url,
                                                           repo_root):
    with Session(engine) as session:
        plain, key = create_api_key(session, Role.planner, "to revoke")
        key_id = key.id
        session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    settings = api_settings.model_copy(update={"principal_cache_keys": 100})
    with TestClient(create_app(settings, engine=engine)) as client:
        cache = client.app.state.principal_cache
        deadline = time.monotonic() + 5
        while not cache.listening:  # the listener connects in the background
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert client.get("/addresses", headers=headers).status_code == 200
        assert cache.get(hash_key(plain)).key_id == key_id  # served from memory from now on

        done = subprocess.run([*FIBERSYNC, "keys", "revoke", plain[:12]], cwd=repo_root,
                              env=env_for(database_url), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "revoked 1" in done.stdout
        deadline = time.monotonic() + 5
        while client.get("/addresses", headers=headers).status_code != 401:
            assert time.monotonic() < deadline, "the revoked key was still accepted"
            time.sleep(0.02)
    again = subprocess.run([*FIBERSYNC, "keys", "revoke", plain[:12]], cwd=repo_root,
                           env=env_for(database_url), capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 2 and "no live key" in again.stdout


def test_keys_create_refuses_an_unbound_isp_key(database_url, repo_root):
    done = subprocess.run([*FIBERSYNC, "keys", "create", "--role", "isp"],
                          env=env_for(database_url), cwd=repo_root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--isp" in done.stdout


@pytest.mark.usefixtures("committed")
def test_sync_command_prints_a_summary(sim, database_url, repo_root):
    done = subprocess.run([*FIBERSYNC, "sync"], env=env_for(database_url, sim[1]),
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout and "inserted" in done.stdout
    assert "120" in done.stdout


def processes_marked(marker: str) -> int:
    """Live processes whose environment holds `marker` (children inherit it)."""
    found = 0
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):  # gone, or not ours to read
            found += f"TEST_MARKER={marker}".encode() in environ.read_bytes()
    return found


@pytest.mark.usefixtures("committed")
def test_an_import_killed_mid_way_and_rerun_ends_identical(sim, database_url, engine,
                                                           repo_root):
    run_sync(database_url, sim[1])
    expected = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE circuits, addresses, sync_runs CASCADE"))

    # one session, every page a second late: the kill lands between two pages
    sim[0].faults.add(FaultRule("slow", route="list", times=None, delay=1.0))
    marker = f"killed-import-{time.time_ns()}"
    process = subprocess.Popen([*FIBERSYNC, "sync"], cwd=repo_root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env=env_for(database_url, sim[1], IQGEO_BATCH_SIZE="20",
                                           IQGEO_SESSIONS="1", TEST_MARKER=marker))
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM addresses")).scalar() == 0:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
            conn.rollback()
    assert processes_marked(marker) > 1  # the import and its reader processes
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    sim[0].faults.clear()
    deadline = time.monotonic() + 15
    while processes_marked(marker):  # the readers end with the importer
        assert time.monotonic() < deadline, "reader processes outlived the killed import"
        time.sleep(0.2)

    with engine.connect() as conn:
        partial = conn.execute(text("SELECT count(*) FROM addresses")).scalar()
        assert 0 < partial < 120
        assert conn.execute(text("SELECT count(*) FROM addresses WHERE retired")).scalar() == 0
    assert "idx_addresses_location" in indexes(engine)[1]  # deferred, rebuilt by the rerun
    rerun = run_sync(database_url, sim[1])
    assert rerun.state == "succeeded" and rerun.counts.inserted == 120 - partial
    assert snapshot(engine) == expected
    assert indexes(engine) == (ALL_INDEXES, set())
    with engine.connect() as conn:
        states = conn.execute(text("SELECT state FROM sync_runs ORDER BY id")).scalars().all()
    assert states == ["interrupted", "succeeded"]


@pytest.mark.usefixtures("committed")
def test_outbox_commands_show_replay_and_discard_parked_events(database_url, engine,
                                                               repo_root):
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO outbox (topic, key, payload, parked_at, attempts, last_error)
            VALUES ('service.changed', 'address:1', '{}', now(), 10, 'permanent: no'),
                   ('service.changed', 'address:2', '{}', now(), 10, 'permanent: no')"""))
        first, second = conn.execute(text("SELECT id FROM outbox ORDER BY id")).scalars()

    def outbox(*args):
        return subprocess.run([*FIBERSYNC, "outbox", *args], env=env_for(
            database_url, COLUMNS="200"), cwd=repo_root, capture_output=True, text=True,
            timeout=60)

    status = outbox("status")
    assert status.returncode == 0 and "permanent: no" in status.stdout
    assert outbox("replay").returncode == 2  # names nothing: refuses to guess
    assert "1 event(s) queued again" in outbox("replay", "--id", str(first)).stdout
    assert "1 event(s) discarded" in outbox("discard", "--all").stdout
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT id, (parked_at IS NULL AND delivered_at IS NULL) FROM outbox")).all())
    assert rows == {first: True, second: False}
