"""`shopcore serve --workers N` without Redis: the catalog cache would go stale between the
processes, so it is turned off unless the operator asked for it."""

from __future__ import annotations

from apps.serving import must_turn_the_cache_off
from apps.settings import Settings

SQLITE = "sqlite+aiosqlite:///shop.db"


def test_several_processes_over_one_database_without_redis_serve_uncached() -> None:
    assert must_turn_the_cache_off(Settings(database_url=SQLITE), 4, {})


def test_one_process_keeps_its_cache() -> None:
    assert not must_turn_the_cache_off(Settings(database_url=SQLITE), 1, {})


def test_with_redis_and_workers_the_cache_is_shared() -> None:
    settings = Settings(database_url=SQLITE, redis_url="redis://127.0.0.1:6379/0")

    assert not must_turn_the_cache_off(settings, 4, {})


def test_an_operator_who_set_the_cache_lifetime_keeps_it() -> None:
    settings = Settings(database_url=SQLITE, catalog_cache_seconds=5)

    assert not must_turn_the_cache_off(settings, 4, {"SHOPCORE_CATALOG_CACHE_SECONDS": "5"})


def test_processes_that_each_keep_their_own_shop_in_memory_keep_their_caches() -> None:
    assert not must_turn_the_cache_off(Settings(database_url=None), 4, {})
