"""A small smoke run of each benchmark, so they keep working (figures are not asserted)."""

import shutil
import subprocess
import sys

from tests.conftest import _url_for


def test_import_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/import_bench.py", "--addresses", "3000", "--rounds", "2",
         "--database-url", _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "full import" in done.stdout and "re-sync" in done.stdout
    assert "inserted=3000" in done.stdout
    assert "updated=" in done.stdout and "retired=" in done.stdout
    if shutil.which("ogr2ogr"):  # the test command installs it
        assert "round 2" in done.stdout and "median" in done.stdout


def test_deploy_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/deploy_bench.py", "--addresses", "3000", "--area-addresses",
         "1000", "--rounds", "1", "--database-url", _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dry run: 1,000 work orders would be made" in done.stdout
    assert "deployment 1,000 work orders + 8,000 tasks" in done.stdout
    assert "bare INSERT ... SELECT" in done.stdout


def test_writeback_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/writeback_bench.py", "--addresses", "3000", "--rate", "200",
         "--seconds", "2", "--backlog", "1000", "--workers", "1",
         "--database-url", _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "drain: 1,000 queued events, 1,000 address updates" in done.stdout
    assert "steady load: 400 events" in done.stdout and "p95" in done.stdout


def test_isp_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/isp_bench.py", "--addresses", "5000", "--seconds", "1",
         "--workers", "1", "--skip-tipg", "--database-url",
         _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FiberSync point + 30 m radius" in done.stdout
    assert "the same, paced near 800/s" in done.stdout
    assert "FiberSync bbox, 1,000 features" in done.stdout
    assert "bare FastAPI + psycopg bbox" in done.stdout


def test_tiles_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/tiles_bench.py", "--addresses", "5000", "--seconds", "1",
         "--rounds", "2", "--workers", "1", "--skip-tipg", "--database-url",
         _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "z14 densest, bare ST_AsMVT SQL" in done.stdout
    assert "z10 densest, FiberSync over HTTP, tile cache" in done.stdout
    assert "FiberSync, no cache" in done.stdout and "FiberSync, tile cache" in done.stdout


def test_assurance_bench_smoke(repo_root):
    done = subprocess.run(
        [sys.executable, "bench/assurance_bench.py", "--addresses", "3000", "--services",
         "1000", "--events", "3", "--database-url", _url_for("fibersync_bench_smoke")],
        cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "full scan" in done.stdout and "30 exceptions found" in done.stdout
    assert "one event" in done.stdout and "board metrics" in done.stdout
