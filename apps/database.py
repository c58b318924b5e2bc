"""Database lifecycle for the entry points: migrate, and decide when to migrate by itself."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from adapters.db.migrate import upgrade_async
from apps.settings import Settings


def is_embedded(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


async def prepare(settings: Settings) -> None:
    """On first start the embedded SQLite database is created and migrated in place.
    PostgreSQL is migrated on purpose, with `shopcore db upgrade`, before a deploy."""
    if settings.database_url is not None and is_embedded(settings.database_url):
        await upgrade_async(settings.database_url)
