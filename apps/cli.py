"""The `shopcore` command: operational entry points (later: serve, worker, db upgrade, ...)."""

from __future__ import annotations

import asyncio
import logging

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


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database SHOPCORE_DATABASE_URL names (SQLite in the working directory when
    unset) to the latest schema."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    url = settings.database_url or DEFAULT_DATABASE_URL
    upgrade(url, revision)
    click.echo(f"database at {_redacted(url)} is at revision {revision}")


def _redacted(url: str) -> str:
    # Never print a password from the environment.
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
