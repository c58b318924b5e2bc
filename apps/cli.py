"""The `shopcore` command: operational entry points (serve, worker, relay, db upgrade, ...)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import cast

import click
from sqlalchemy.exc import SQLAlchemyError

from adapters.db.migrate import upgrade
from apps import logs
from apps.database import NotReady, error_line, redacted
from apps.demo import describe, place_demo_order
from apps.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


class BadSetting(click.ClickException):
    """A setting or an option the command cannot run with: one line, no usage text (the
    command line was fine), and the exit status of a usage error."""

    exit_code = 2


@click.group()
@click.version_option(package_name="shopcore", prog_name="shopcore")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="Lowest level logged: JSON lines on stderr, readable ones on a terminal.",
)
@click.pass_context
def main(context: click.Context, log_level: str) -> None:
    """shopcore: the backend of an online shop."""
    context.obj = log_level.lower()
    logs.configure(log_level)


@main.command()
def demo() -> None:
    """Place an order in a complete in-memory shop and print it."""
    order, left = asyncio.run(place_demo_order())
    click.echo(describe(order, left))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes."
)
@click.option("--demo/--no-demo", default=None, help="Seed a demo catalog into an empty shop.")
def serve(host: str, port: int | None, workers: int, demo: bool | None) -> None:
    """Start the HTTP API on the configured database (SQLite in the working directory unless
    SHOPCORE_DATABASE_URL says otherwise), migrating an embedded database on first start."""
    from apps import server
    from apps.serving import prepare_to_serve

    settings = _settings()
    port = port if port is not None else int(os.environ.get("PORT", "8000"))
    try:
        server.bindable(host, port)  # before the migrations and the seeding: fail at once
        prepare_to_serve(settings, seed_demo=demo, workers=workers)
        click.echo(f"shopcore API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
        server.serve(
            host,
            port,
            workers,
            log_level=click.get_current_context().find_root().obj,
            grace_seconds=settings.shutdown_grace_seconds,
        )
    except (server.CannotServe, NotReady) as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("openapi/openapi.json"),
    show_default=True,
)
def openapi(output: Path) -> None:
    """Write the API's OpenAPI document (the committed copy lives in openapi/)."""
    from apps.serving import openapi_document

    _write(output, openapi_document())


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("asyncapi/asyncapi.json"),
    show_default=True,
)
def asyncapi(output: Path) -> None:
    """Write the AsyncAPI document of the event stream (the committed copy lives in asyncapi/)."""
    from apps.asyncapi import rendered

    _write(output, rendered())


def _write(output: Path, document: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(document)
    click.echo(f"wrote {output}")


@main.command()
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="The documentation directory whose generated blocks to rewrite.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming the pages that differ.")
def docs(directory: Path, check: bool) -> None:
    """Regenerate the generated blocks of docs/ from the code (OpenAPI document, tables,
    events, state machines, settings); hand-written text around them is kept."""
    from apps.docs import MarkerError, load, render, stale, write

    root = cast(click.Group, click.get_current_context().find_root().command)
    try:
        rendered = render(directory, load(root))
    except MarkerError as error:
        raise click.ClickException(str(error)) from error
    if not check:
        changed = write(rendered, lambda path: click.echo(f"wrote {path}"))
        click.echo(f"{len(changed)} of {len(rendered)} generated pages changed")
        return
    differing = stale(rendered)
    if differing:
        click.echo("generated docs differ from the code; run `shopcore docs`:", err=True)
        for path in differing:
            click.echo(f"  {path}", err=True)
        raise SystemExit(1)
    click.echo(f"all {len(rendered)} generated pages are up to date")


@main.command()
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="Handler group to serve (repeat for several; default: every group).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Entries in flight per group (default: SHOPCORE_WORKER_CONCURRENCY or 16).",
)
@click.option(
    "--relay/--no-relay",
    default=True,
    show_default=True,
    help="Also publish the outbox (safe in every worker: one relay publishes at a time).",
)
@click.option(
    "--expire/--no-expire",
    default=True,
    show_default=True,
    help="Also release expired reservations every SHOPCORE_EXPIRE_INTERVAL_SECONDS.",
)
@click.option(
    "--recover/--no-recover",
    default=True,
    show_default=True,
    help="Also finish work a crash left half-done, every SHOPCORE_RECOVERY_INTERVAL_SECONDS.",
)
def worker(
    groups: tuple[str, ...], concurrency: int | None, relay: bool, expire: bool, recover: bool
) -> None:
    """Handle events from Redis Streams until SIGTERM (needs SHOPCORE_REDIS_URL and a SQL
    database); in-flight events are finished before it exits."""
    from apps.worker import WorkerError, WorkerOptions, run_worker, until_signalled

    settings = _settings()
    options = WorkerOptions(
        groups=groups, concurrency=concurrency, relay=relay, expire=expire, recover=recover
    )
    try:
        until_signalled(lambda stop: run_worker(settings, options, stop))
    except WorkerError as error:
        raise BadSetting(str(error)) from None
    except NotReady as error:
        raise click.ClickException(str(error)) from None


@main.command()
def relay() -> None:
    """Publish the outbox to Redis Streams until SIGTERM, without handling events."""
    from apps.worker import WorkerError, run_relay, until_signalled

    settings = _settings()
    try:
        until_signalled(lambda stop: run_relay(settings, stop))
    except WorkerError as error:
        raise BadSetting(str(error)) from None
    except NotReady as error:
        raise click.ClickException(str(error)) from None


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise BadSetting(str(error)) from None


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database SHOPCORE_DATABASE_URL names (SQLite in the working directory when
    unset) to the latest schema."""
    url = _settings().database_url or DEFAULT_DATABASE_URL
    try:
        upgrade(url, revision)
    except (SQLAlchemyError, OSError) as error:
        raise click.ClickException(
            f"cannot migrate the database at {redacted(url)}: {error_line(error)}"
        ) from None
    click.echo(f"database at {redacted(url)} is at revision {revision}")


@main.command("create-staff")
@click.option("--email", required=True, help="The staff member's email: their login.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Their password (asked for when left out, which keeps it out of shell history).",
)
@click.option("--name", default="", help="Their name, as shown to other staff.")
def create_staff(email: str, password: str, name: str) -> None:
    """Create a staff account in the database SHOPCORE_DATABASE_URL names (SQLite in the
    working directory when unset). Idempotent: an existing account with that email is made
    staff and keeps its own password."""
    from apps.staff import NoDatabase, ensure_staff
    from shopcore import ShopError

    settings = _settings()
    try:
        staff = asyncio.run(ensure_staff(settings, email=email, password=password, name=name))
    except NoDatabase as error:
        raise BadSetting(str(error)) from None
    except NotReady as error:
        raise click.ClickException(str(error)) from None
    except ShopError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"staff account {staff.email} is ready (id {staff.id})")


@main.group("dead-letters")
def dead_letters() -> None:
    """Events a consumer group gave up on after five deliveries: list them, replay them."""


@dead_letters.command("list")
def dead_letters_list() -> None:
    """Every dead letter, oldest first: id, group, event, deliveries, when, and the error."""
    from apps.dead_letters import NoDatabase, stored_letters

    settings = _settings()
    try:
        letters = asyncio.run(stored_letters(settings))
    except NoDatabase as error:
        raise BadSetting(str(error)) from None
    for letter in letters:
        click.echo(
            f"{letter.id}\t{letter.group}\t{letter.event_type} {letter.event_id}\t"
            f"{letter.deliveries} deliveries\t{letter.failed_at.isoformat()}\t"
            f"{letter.error.splitlines()[0] if letter.error else ''}"
        )
    click.echo(f"{len(letters)} dead letters", err=True)


@dead_letters.command("replay")
@click.option("--id", "ids", type=int, multiple=True, help="A letter to replay (repeat).")
@click.option("--all", "every", is_flag=True, help="Replay every letter.")
def dead_letters_replay(ids: tuple[int, ...], every: bool) -> None:
    """Hand each letter's event to its group's handlers again, here; a letter handled is
    removed, one that fails again is kept. Exits 1 if any failed again."""
    from apps.dead_letters import NoDatabase, Replayed, replay

    if not ids and not every:
        raise BadSetting("name the letters with --id, or replay them all with --all")

    def report(outcome: Replayed) -> None:
        letter = outcome.letter
        result = "replayed" if outcome.error is None else f"failed again: {outcome.error}"
        click.echo(f"{letter.id}\t{letter.group}\t{letter.event_type}\t{result}")

    settings = _settings()
    try:
        outcomes = asyncio.run(replay(settings, list(ids) if ids else None, report))
    except NoDatabase as error:
        raise BadSetting(str(error)) from None
    if any(outcome.error is not None for outcome in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
