"""Typed settings, read from the environment once, by the entry points (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec


class SettingsError(ValueError):
    pass


# The embedded default: an SQLite file in the working directory, created on first start.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///shopcore.db"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # None keeps everything in memory (tests, the library default); the environment's
    # default for the operational commands is DEFAULT_DATABASE_URL.
    database_url: str | None = None
    database_pool_size: int = 10
    currency: str = "EUR"
    shipping_rate: int = 495  # minor units
    free_shipping_from: int | None = 5000
    default_tax_rate: int = 0  # basis points, for countries without a configured rate
    reservation_ttl_seconds: int = 15 * 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, got {raw!r}") from None

        free = env.get("SHOPCORE_FREE_SHIPPING_FROM")
        database_url = env.get("SHOPCORE_DATABASE_URL") or DEFAULT_DATABASE_URL
        pool_size = integer("SHOPCORE_DATABASE_POOL_SIZE", defaults.database_pool_size)
        if pool_size < 1:
            raise SettingsError("SHOPCORE_DATABASE_POOL_SIZE must be at least 1")
        return cls(
            database_url=None if database_url == "memory" else database_url,
            database_pool_size=pool_size,
            currency=env.get("SHOPCORE_CURRENCY", defaults.currency),
            shipping_rate=integer("SHOPCORE_SHIPPING_RATE", defaults.shipping_rate),
            free_shipping_from=None
            if free == "none"
            else integer("SHOPCORE_FREE_SHIPPING_FROM", defaults.free_shipping_from or 0),
            default_tax_rate=integer("SHOPCORE_DEFAULT_TAX_RATE", defaults.default_tax_rate),
            reservation_ttl_seconds=integer(
                "SHOPCORE_RESERVATION_TTL_SECONDS", defaults.reservation_ttl_seconds
            ),
        )
