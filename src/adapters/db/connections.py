"""What the stores of one SQL unit of work need of it: the connection for their next statement.

The repositories, the stock ledger and the processed-event records depend on this Protocol, not
on the unit of work that satisfies it; the unit of work builds them, so it imports them and none
of them imports it back.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class Connections(Protocol):
    async def connection(self, *, write: bool = True) -> AsyncConnection:
        """The unit's writer (`write=True`), or whichever connection serves its reads now."""
        ...

    @property
    def stages_inserts(self) -> bool:
        """Whether a repository may stage a new row for the commit's one statement
        (Session.stage) instead of inserting it at once."""
        ...

    @property
    def postgres(self) -> bool:
        """Whether the unit's statements go to PostgreSQL (they may use its SQL)."""
        ...
