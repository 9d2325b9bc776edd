"""The `baoxiao` command: migrate, serve, demo, audit verify, users and tokens."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import timedelta
from typing import Annotated, NoReturn

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from baoxiao.approvals.tasks import run_timers
from baoxiao.audit import service as audit
from baoxiao.connectors.base import ConnectorError
from baoxiao.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, seed
from baoxiao.integrations import cli_support
from baoxiao.integrations.feishu import sync as feishu_sync
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.kernel.errors import AppError
from baoxiao.kernel.logging import configure_logging
from baoxiao.migrations import runner
from baoxiao.payments import bankaccounts
from baoxiao.settings import Settings
from baoxiao.worker import run_worker

app = typer.Typer(help="Baoxiao expense reimbursement.", no_args_is_help=True, add_completion=False)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
events_app = typer.Typer(help="Event delivery: dead letters and replay.", no_args_is_help=True)
app.add_typer(events_app, name="events")
approvals_app = typer.Typer(help="Approval flows and tasks.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")
sync_app = typer.Typer(help="Pull data from connected systems.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr and a non-zero exit: the CLI's error contract."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        _ = settings.resolved_secret_key
        return settings
    except (ValueError, OSError) as exc:
        fail(f"bad settings: {str(exc).splitlines()[0]}")


def _database(settings: Settings) -> Database:
    try:
        db = Database.from_url(settings.resolved_database_url, pool_size=settings.db_pool_size)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return db
    except ArgumentError:
        fail(f"BAOXIAO_DATABASE_URL is not a database URL: {settings.resolved_database_url!r}")
    except (OperationalError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        fail(f"cannot connect to the database ({reason})")
    except ModuleNotFoundError as exc:
        fail(f"no driver for this database URL ({exc.name})")


def _require_current(db: Database) -> None:
    if not runner.is_current(db.engine):
        fail("the database is not migrated to the latest version: run `baoxiao migrate`")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    settings = _settings()
    db = _database(settings)
    runner.upgrade(settings.resolved_database_url)
    db.dispose()
    typer.echo(f"database at revision {runner.head_revision()}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: BAOXIAO_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: BAOXIAO_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: BAOXIAO_WORKERS.")] = None,
) -> None:
    """Serve the web application and API."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    db.dispose()
    _run(settings, host, port, workers)


def _run(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    configure_logging(settings.log_level, settings.log_json)
    n = workers or settings.workers
    if settings.resolved_database_url.startswith("sqlite"):
        if n > 1:
            fail("several workers need PostgreSQL; the embedded SQLite mode runs one process")
        # Embedded mode: the app process also delivers events (see baoxiao.worker).
        os.environ.setdefault("BAOXIAO_EMBEDDED_DISPATCHER", "true")
    uvicorn.run(
        "baoxiao.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=n,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


@app.command()
def demo(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve after seeding.")
    ] = True,
) -> None:
    """Migrate, seed the demo company (once), print the logins, and serve."""
    settings = _settings()
    db = _database(settings)
    runner.upgrade(settings.resolved_database_url)
    with db.transaction() as session:
        created = seed(session, settings.secret_box)
    db.dispose()
    url = f"http://{host or settings.host}:{port or settings.port}"
    typer.echo(
        "Demo company seeded." if created else "Demo company already present; nothing added."
    )
    typer.echo(f"Baoxiao: {url}   API docs: {url}/docs   OpenAPI: {url}/openapi.json")
    typer.echo(f"Demo logins (password: {DEMO_PASSWORD}):")
    for login in DEMO_LOGINS:
        typer.echo(f"  {login.username:<10} {login.role}")
    if serve_after:
        # The sign-in page lists the demo logins (never set outside `baoxiao demo`).
        os.environ.setdefault(
            "BAOXIAO_DEMO_LOGINS", ",".join(f"{d.username}:{d.role}" for d in DEMO_LOGINS)
        )
        os.environ.setdefault("BAOXIAO_DEMO_PASSWORD", DEMO_PASSWORD)
        _run(settings, host, port, None)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 1 and name the first broken record if it was tampered with."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    with db.transaction() as session:
        result = audit.verify(session)
    if result.ok:
        typer.echo(f"audit chain intact: {result.checked} records verified")
        return
    typer.echo(
        f"audit chain broken at record {result.broken_seq}: {result.reason} "
        f"({result.checked} records verified before it)",
        err=True,
    )
    raise typer.Exit(1)


@app.command("rewrap-bank-accounts")
def rewrap_bank_accounts() -> None:
    """After a key rotation (old key in BAOXIAO_OLD_SECRET_KEYS): re-encrypt bank accounts."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    with db.transaction() as session:
        count = bankaccounts.rewrap(session, settings.secret_box)
    db.dispose()
    typer.echo(f"{count} bank accounts re-encrypted with the current key")


@app.command()
def worker() -> None:
    """Deliver events and apply inbound callbacks until stopped (SIGTERM/SIGINT)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    db = _database(settings)
    _require_current(db)
    run_worker(db, settings)
    db.dispose()


@events_app.command("dead")
def events_dead(
    connector: Annotated[str | None, typer.Option(help="Only this connector instance id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """List dead-lettered deliveries."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    with db.transaction() as session:
        rows = cli_support.dead_letters(session, _uuid(connector), limit)
    for row in rows:
        typer.echo(
            f"{row.id}  {row.connector_id}  {row.event_type:<24} {row.subject_key}"
            f"  #{row.sequence}  attempts={row.attempts}  {row.last_error or ''}"[:240]
        )
    typer.echo(f"{len(rows)} dead deliveries")


@events_app.command("replay")
def events_replay(
    connector: Annotated[str | None, typer.Option(help="Only this connector instance id.")] = None,
    delivery: Annotated[list[str] | None, typer.Option(help="Only these delivery ids.")] = None,
) -> None:
    """Queue dead-lettered deliveries again, with a fresh retry horizon."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    ids = [_required_uuid(d) for d in delivery] if delivery else None
    with db.transaction() as session:
        count = cli_support.replay_dead(session, _uuid(connector), ids)
    typer.echo(f"{count} deliveries queued again")


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else _required_uuid(value)


def _required_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"not an id: {value!r}")


@approvals_app.command("run-timers")
def approvals_run_timers() -> None:
    """Send due approval reminders and escalate overdue tasks (run it from cron or the worker)."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    with db.transaction() as session:
        result = run_timers(session, utcnow())
    db.dispose()
    typer.echo(f"reminded {result.reminded} task(s), escalated {result.escalated} task(s)")


def _box(settings: Settings) -> SecretBox:
    return SecretBox.from_secret(
        settings.resolved_secret_key,
        old_secrets=tuple(s.get_secret_value() for s in settings.old_secret_keys),
    )


@sync_app.command("org")
def sync_org(
    connector: Annotated[str, typer.Option(help="The Feishu connector instance id.")],
) -> None:
    """Full org sync from the connector's directory (Feishu contact v3), with progress."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, n: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=None)
            bar.advance(tasks[phase], n)

        try:
            report = feishu_sync.sync_org(db, _box(settings), _required_uuid(connector), progress)
        except (AppError, ConnectorError) as exc:
            fail(str(exc) or type(exc).__name__)
    db.dispose()
    typer.echo(
        f"departments: {report.departments_created} created, {report.departments_updated} "
        f"updated; employees: {report.employees_created} created, {report.employees_updated} "
        f"updated, {report.deactivated} deactivated"
    )


@app.command()
def reconcile(
    connector: Annotated[str, typer.Option(help="The Feishu connector instance id.")],
    older_than_minutes: Annotated[
        float | None, typer.Option(help="Default: the instance's reconcile_after_minutes.")
    ] = None,
) -> None:
    """Fetch in-flight claims' approval instances that went quiet and apply what was missed."""
    settings = _settings()
    db = _database(settings)
    _require_current(db)
    quiet = timedelta(minutes=older_than_minutes) if older_than_minutes is not None else None
    try:
        repairs = feishu_sync.reconcile(
            db, _box(settings), _required_uuid(connector), older_than=quiet
        )
    except (AppError, ConnectorError) as exc:
        fail(str(exc) or type(exc).__name__)
    db.dispose()
    for r in repairs:
        typer.echo(f"{r.claim_number}  {r.instance_code or '-'}  {r.outcome}")
    typer.echo(f"{len(repairs)} claim(s) checked")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
