"""`shopcore create-staff`: a staff account in the configured database, made idempotently."""

from __future__ import annotations

from apps.components import Components
from apps.database import prepare
from apps.settings import Settings
from shopcore import EnsureStaff
from shopcore.customers.model import Customer


class NoDatabase(ValueError):
    pass


async def ensure_staff(settings: Settings, *, email: str, password: str, name: str) -> Customer:
    """Create the staff account, or promote the account with that email (which then keeps its
    own password). An embedded SQLite database is created and migrated first."""
    if settings.database_url is None:
        raise NoDatabase("SHOPCORE_DATABASE_URL=memory keeps nothing: name a database")
    await prepare(settings)
    async with Components(settings) as components:
        return await components.shop.handle(EnsureStaff(email=email, password=password, name=name))
