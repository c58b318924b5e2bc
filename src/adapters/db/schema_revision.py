"""Whether a database's schema is the one this code needs: the newest migration's revision,
compared with the one Alembic recorded in the database (`alembic_version`)."""

from __future__ import annotations

import functools

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.db.migrate import MIGRATIONS, alembic_config
from shopcore.shared.errors import Unavailable


@functools.cache
def head() -> str:
    """The newest migration's revision: the schema this code is written against."""
    revision = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert revision is not None, f"no migration in {MIGRATIONS}"
    return revision


async def current(connection: AsyncConnection) -> str | None:
    """The revision the database is at; None for one never migrated."""
    has_table = await connection.run_sync(
        lambda sync: sync.dialect.has_table(sync, "alembic_version")
    )
    if not has_table:
        return None
    found = await connection.execute(text("SELECT version_num FROM alembic_version"))
    return found.scalar()


def behind(revision: str | None) -> str | None:
    """What is wrong with a database at `revision`, in one line; None if nothing is."""
    if revision == head():
        return None
    return (
        f"the database schema is at revision {revision or 'none (never migrated)'}, this code "
        f"needs {head()}: run `shopcore db upgrade`"
    )


async def require_current(connection: AsyncConnection) -> None:
    """Unavailable unless the schema is the code's. One statement, as readiness asks often: a
    database never migrated has no `alembic_version`, which errors.py already answers as
    Unavailable (a missing table), inside `translated()`."""
    found = await connection.execute(text("SELECT version_num FROM alembic_version"))
    problem = behind(found.scalar())
    if problem is not None:
        raise Unavailable(problem)
