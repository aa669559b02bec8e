"""The `fibersync` command line."""

import logging
import signal
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.settings import ApiSettings
from gis.database import ensure_database, make_engine
from gis.errors import FiberSyncError
from gis.status import Role
from sync.importing import RunProgress, SyncResult, run_sync
from sync.iqgeo import IQGeoSettings

# The web app, its server, Alembic and the worker are imported by the commands that use
# them: together they take 1.5 s to import, which `fibersync sync` would otherwise pay.
if TYPE_CHECKING:
    from sync.worker import Worker

app = typer.Typer(help="FiberSync: the address hub between IQGeo and everyone who acts on "
                       "addresses.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
outbox_app = typer.Typer(help="See and act on the outbox (parked events).",
                         no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(outbox_app, name="outbox")
contracts_app = typer.Typer(help="Commercial contracts.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
console = Console()
DEMO_ISP = "demo-isp"
DEMO_CREW = "demo-crew"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app()


def upgrade_database(settings: ApiSettings) -> None:
    from alembic import command

    from migrations import alembic_config

    ensure_database(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and run every migration."""
    settings = ApiSettings()
    upgrade_database(settings)
    console.print("[green]database at the newest migration[/]")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, planner, bss, isp or technician")],
    isp: Annotated[str | None, typer.Option(help="the ISP an isp key is bound to")] = None,
    crew: Annotated[str | None, typer.Option(help="crew or contractor of a technician key")]
    = None,
    name: Annotated[str | None, typer.Option(help="a label for the key")] = None,
) -> None:
    """Create an API key; the key is printed alone on the last line."""
    from sqlalchemy.orm import Session

    from api.auth import create_api_key

    engine = make_engine(ApiSettings().database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            plain, key = create_api_key(session, role, name or f"{role.value} key", isp, crew)
            session.commit()
    except FiberSyncError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(2) from None
    console.print(f"key {key.id} ({key.key_prefix}…) role={role.value}", highlight=False)
    print(plain)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="the key's id, or its first characters as "
                                            "printed by `keys create` (fsk_…)")],
) -> None:
    """Revoke an API key: refused from the next request on, in every API process."""
    from sqlalchemy.orm import Session

    from api.auth import revoke_api_key

    engine = make_engine(ApiSettings().database_url)
    with Session(engine) as session:
        revoked = revoke_api_key(session, key)
        session.commit()
    if revoked == 0:
        console.print(f"[red]no live key matches {key!r}[/]")
        raise typer.Exit(2)
    console.print(f"revoked {revoked} key(s)")


def _sync_with_progress(settings: ApiSettings, iqgeo: IQGeoSettings, full: bool,
                        started_by: str) -> SyncResult:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("starting", total=None)

        def show(progress: RunProgress) -> None:
            counts = progress.counts
            done = counts.circuits_read if progress.phase == "circuits" else counts.features_read
            bar.update(task, description=progress.phase, completed=done,
                       total=progress.total_estimate)

        return run_sync(settings.database_url, iqgeo, full, started_by, show)


def _print_summary(result: SyncResult) -> None:
    table = Table(title=f"sync run {result.run_id}: {result.state}")
    table.add_column("what")
    table.add_column("count", justify="right")
    counts = result.counts
    for name in ("inserted", "updated", "unchanged", "retired", "rejected", "circuits_linked",
                 "circuits_unlinked", "circuits_orphaned"):
        table.add_row(name.replace("_", " "), str(getattr(counts, name)))
    console.print(table)
    if result.error:
        console.print(f"[red]{result.error}[/]")


@app.command()
def sync(full: Annotated[bool, typer.Option(help="rewrite every row, changed or not")]
         = False) -> None:
    """Import addresses and circuits from IQGeo now (IQGEO_URL, IQGEO_USER, ...)."""
    iqgeo = IQGeoSettings()
    if not iqgeo.url:
        console.print("[red]IQGEO_URL is not set[/]")
        raise typer.Exit(2)
    try:
        result = _sync_with_progress(ApiSettings(), iqgeo, full, "cli")
    except FiberSyncError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(1) from None
    _print_summary(result)
    if result.state != "succeeded":
        raise typer.Exit(1)


@app.command("iqgeo-sim")
def iqgeo_sim(
    data: Annotated[Path | None, typer.Option(help="a GeoJSON FeatureCollection of address "
                                                    "points", exists=True)] = None,
    addresses: Annotated[int, typer.Option(help="size of the generated town")] = 1000,
    host: str = "127.0.0.1",
    port: int = 8090,
    user: str = "admin",
    password: str = "_mywWorld_",  # noqa: S107 - the simulator's sample login
    shuffle: Annotated[bool, typer.Option(help="list rows in a scrambled order")] = False,
    prerender: Annotated[bool, typer.Option(
        help="serialise every address and circuit before serving (for benchmarks: pages are "
             "then sent, not built; about 1.6 GB and 12 s per million addresses)")] = False,
) -> None:
    """Serve the IQGeo simulator (see shared/iqgeo-api.md)."""
    import uvicorn

    from fixtures.iqgeo_sim import build_simulator

    sim = build_simulator(addresses=addresses, data=data, shuffle=shuffle, user=user,
                          password=password, prerender=prerender)
    console.print(f"IQGeo simulator on http://{host}:{port} (user {user})")
    uvicorn.run(sim, host=host, port=port, log_level="warning")


def _report(worker: "Worker", stop: threading.Event, every: float = 10.0) -> None:
    while not stop.wait(every):
        console.print(f"worker {worker.name}: delivered {worker.delivered}, retried "
                      f"{worker.retried}, parked {worker.parked}", highlight=False)


def _start_worker(settings: ApiSettings, iqgeo: IQGeoSettings,
                  stop: threading.Event) -> "Worker":
    from sync.worker import Worker, WorkerSettings

    worker = Worker(make_engine(settings.database_url, 2), WorkerSettings(), iqgeo)
    threading.Thread(target=worker.run, args=(stop,), name="outbox-worker",
                     daemon=True).start()
    return worker


@app.command("worker")
def run_worker(once: Annotated[bool, typer.Option(help="deliver what is due, then exit")]
               = False) -> None:
    """Deliver the outbox (IQGeo write-back) until SIGTERM or Ctrl-C. Run as many as needed."""
    from sync.worker import Worker, WorkerSettings

    iqgeo = IQGeoSettings()
    if not iqgeo.url:
        console.print("[red]IQGEO_URL is not set[/]")
        raise typer.Exit(2)
    settings = ApiSettings()
    worker = Worker(make_engine(settings.database_url, 2), WorkerSettings(), iqgeo)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the batch in hand, then stop
    console.print(f"worker {worker.name} delivering the outbox to {iqgeo.url}",
                  highlight=False)
    if once:
        while not stop.is_set() and worker.run_once():
            pass
    else:
        threading.Thread(target=_report, args=(worker, stop), daemon=True).start()
        worker.run(stop)
    worker.close()
    console.print(f"delivered {worker.delivered}, retried {worker.retried}, parked "
                  f"{worker.parked}", highlight=False)


@outbox_app.command("status")
def outbox_status(limit: int = 20) -> None:
    """Queue depth, delivery lag and the parked events with their reasons."""
    from gis.outbox import outbox_health, parked_events

    engine = make_engine(ApiSettings().database_url, 1)
    with engine.connect() as conn:
        health = outbox_health(conn)
        parked = parked_events(conn, limit)
    table = Table(title="outbox")
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in vars(health).items():
        shown = "-" if value is None else (f"{value:.2f}" if isinstance(value, float)
                                           else str(value))
        table.add_row(name.replace("_", " "), shown)
    console.print(table)
    if parked:
        listing = Table(title=f"parked (first {limit})")
        for column in ("id", "topic", "key", "attempts", "last_error"):
            listing.add_column(column)
        for event in parked:
            listing.add_row(*(str(event[c]) for c in ("id", "topic", "key", "attempts",
                                                       "last_error")))
        console.print(listing)


def _parked_ids(ids: list[int] | None, everything: bool) -> list[int] | None:
    if not ids and not everything:
        console.print("[red]name the events with --id, or pass --all[/]")
        raise typer.Exit(2)
    return None if everything else ids


@outbox_app.command("replay")
def outbox_replay(
    ids: Annotated[list[int] | None, typer.Option("--id", help="a parked event id")] = None,
    everything: Annotated[bool, typer.Option("--all", help="every parked event")] = False,
) -> None:
    """Put parked events back in the queue, with fresh attempts."""
    from gis.outbox import replay_parked

    engine = make_engine(ApiSettings().database_url, 1)
    with engine.begin() as conn:
        count = replay_parked(conn, _parked_ids(ids, everything))
    console.print(f"{count} event(s) queued again")


@outbox_app.command("discard")
def outbox_discard(
    ids: Annotated[list[int] | None, typer.Option("--id", help="a parked event id")] = None,
    everything: Annotated[bool, typer.Option("--all", help="every parked event")] = False,
) -> None:
    """Give up on parked events (they stay in the table, marked as discarded)."""
    from gis.outbox import discard_parked

    engine = make_engine(ApiSettings().database_url, 1)
    with engine.begin() as conn:
        count = discard_parked(conn, _parked_ids(ids, everything), "cli")
    console.print(f"{count} event(s) discarded")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_demo_simulator(addresses: int) -> str:
    import uvicorn

    from fixtures.iqgeo_sim import build_simulator

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(build_simulator(addresses=addresses),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, name="iqgeo-sim", daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def _demo_keys(settings: ApiSettings) -> list[tuple[str, str]]:
    from sqlalchemy.orm import Session

    from api.auth import create_api_key

    engine = make_engine(settings.database_url)
    bindings = {Role.isp: (DEMO_ISP, None), Role.technician: (None, DEMO_CREW)}
    keys = []
    with Session(engine, expire_on_commit=False) as session:
        for role in Role:
            isp, crew = bindings.get(role, (None, None))
            plain, _ = create_api_key(session, role, f"fibersync up ({role.value})", isp, crew)
            keys.append((role.value, plain))
        session.commit()
    engine.dispose()
    return keys


@app.command()
def up(host: str = "127.0.0.1", port: int = 8000,
       demo_addresses: Annotated[int, typer.Option(help="size of the demo town when "
                                                        "IQGEO_URL is unset")] = 5000) -> None:
    """Migrate, import (from the built-in simulator's demo town when IQGEO_URL is unset),
    start the outbox worker and serve the API."""
    import uvicorn

    from api.app import create_app

    settings = ApiSettings()
    upgrade_database(settings)
    iqgeo = IQGeoSettings()
    if not iqgeo.url:
        iqgeo = iqgeo.model_copy(update={"url": _start_demo_simulator(demo_addresses)})
        console.print(f"IQGEO_URL is unset: serving a demo town of {demo_addresses} "
                      f"addresses from the simulator at {iqgeo.url}")
    _print_summary(_sync_with_progress(settings, iqgeo, False, "fibersync up"))
    _start_worker(settings, iqgeo, threading.Event())
    for role, plain in _demo_keys(settings):
        console.print(f"{role:>10} key: {plain}", highlight=False)
    console.print(f"FiberSync is serving on http://{host}:{port}  (try GET /addresses with "
                  "a key: Authorization: Bearer <key>)", highlight=False)
    uvicorn.run(create_app(settings, iqgeo), host=host, port=port, log_level="info")


@contracts_app.command("load")
def contracts_load(csv_path: Annotated[Path, typer.Argument(help="a CSV export of the BSS's "
                                                            "contracts, with a header")]
                   ) -> None:
    """First load of contracts (all rows or none), then a full assurance scan."""
    from sqlalchemy.orm import Session

    from api.routers.assurance import rules_from
    from services.assurance import scan
    from services.contract_load import load_contracts

    settings = ApiSettings()
    engine = make_engine(settings.database_url, 1)
    try:
        with Session(engine) as session, csv_path.open(newline="") as csv_file:
            counts = load_contracts(session, csv_file)
            found = scan(session, rules_from(settings), datetime.now(UTC))
            session.commit()
    except FiberSyncError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(2) from None
    console.print(f"{counts.read} rows read: {counts.loaded} contracts loaded, "
                  f"{counts.already_known} already known, {counts.unknown_address} naming "
                  f"unknown addresses (not loaded); {found.found} exceptions open after the "
                  f"scan ({found.opened} new)", highlight=False)


if __name__ == "__main__":
    main()
