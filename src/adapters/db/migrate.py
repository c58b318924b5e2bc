"""Schema migrations, run programmatically: `shopcore db upgrade`, and on first start of the
embedded SQLite database. The Alembic scripts live next to this file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`. Blocking: run it before the event loop or
    through `upgrade_async`."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, url, revision)


def revision(url: str, message: str) -> None:
    """For developers: autogenerate a migration from the difference with tables.py."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
