"""The `shopcore` command: operational entry points (later: serve, worker, db upgrade, ...)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from adapters.db.migrate import upgrade
from apps.demo import describe, place_demo_order
from apps.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


@click.group()
@click.option("--log-level", default="WARNING", show_default=True, help="Python logging level.")
def main(log_level: str) -> None:
    """shopcore: the backend of an online shop."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")


@main.command()
def demo() -> None:
    """Place an order in a complete in-memory shop and print it."""
    order, left = asyncio.run(place_demo_order())
    click.echo(describe(order, left))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=None, help="Port (default: $PORT or 8000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--demo/--no-demo", default=None, help="Seed a demo catalog into an empty shop.")
def serve(host: str, port: int | None, workers: int, demo: bool | None) -> None:
    """Start the HTTP API on the configured database (SQLite in the working directory unless
    SHOPCORE_DATABASE_URL says otherwise), migrating an embedded database on first start."""
    import uvicorn

    from apps.serving import prepare_to_serve

    settings = _settings()
    port = port if port is not None else int(os.environ.get("PORT", "8000"))
    prepare_to_serve(settings, seed_demo=demo)
    click.echo(f"shopcore API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "apps.api:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        log_level="warning",
    )


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

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(openapi_document())
    click.echo(f"wrote {output}")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.UsageError(str(error)) from error


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database SHOPCORE_DATABASE_URL names (SQLite in the working directory when
    unset) to the latest schema."""
    url = _settings().database_url or DEFAULT_DATABASE_URL
    upgrade(url, revision)
    click.echo(f"database at {_redacted(url)} is at revision {revision}")


def _redacted(url: str) -> str:
    # Never print a password from the environment.
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
