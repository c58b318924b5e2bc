from __future__ import annotations

import pytest

from apps.settings import DEFAULT_DATABASE_URL, Settings, SettingsError

ALL = {
    "SHOPCORE_DATABASE_URL": "postgresql+asyncpg://shop@db/shop",
    "SHOPCORE_DATABASE_POOL_SIZE": "25",
    "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS": "5",
    "SHOPCORE_CURRENCY": "USD",
    "SHOPCORE_SHIPPING_RATE": "699",
    "SHOPCORE_FREE_SHIPPING_FROM": "10000",
    "SHOPCORE_DEFAULT_TAX_RATE": "825",
    "SHOPCORE_RESERVATION_TTL_SECONDS": "600",
}
INTEGERS = [
    "SHOPCORE_DATABASE_POOL_SIZE",
    "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS",
    "SHOPCORE_SHIPPING_RATE",
    "SHOPCORE_FREE_SHIPPING_FROM",
    "SHOPCORE_DEFAULT_TAX_RATE",
    "SHOPCORE_RESERVATION_TTL_SECONDS",
]


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings(
        database_url=DEFAULT_DATABASE_URL,
        database_pool_size=10,
        currency="EUR",
        shipping_rate=495,
        free_shipping_from=5000,
        default_tax_rate=0,
        reservation_ttl_seconds=900,
    )


def test_the_library_default_keeps_everything_in_memory() -> None:
    assert Settings().database_url is None
    assert DEFAULT_DATABASE_URL.startswith("sqlite")


def test_every_setting_is_read_from_its_variable() -> None:
    assert Settings.from_env(ALL) == Settings(
        database_url="postgresql+asyncpg://shop@db/shop",
        database_pool_size=25,
        database_pool_timeout_seconds=5,
        currency="USD",
        shipping_rate=699,
        free_shipping_from=10000,
        default_tax_rate=825,
        reservation_ttl_seconds=600,
    )


def test_an_empty_variable_falls_back_to_the_default() -> None:
    settings = Settings.from_env(dict.fromkeys(ALL, ""))

    assert settings == Settings.from_env({})


def test_the_database_url_memory_selects_the_in_memory_store() -> None:
    assert Settings.from_env({"SHOPCORE_DATABASE_URL": "memory"}).database_url is None


def test_free_shipping_can_be_turned_off() -> None:
    assert Settings.from_env({"SHOPCORE_FREE_SHIPPING_FROM": "none"}).free_shipping_from is None


def test_without_an_argument_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPCORE_SHIPPING_RATE", "0")
    monkeypatch.delenv("SHOPCORE_CURRENCY", raising=False)

    settings = Settings.from_env()

    assert settings.shipping_rate == 0
    assert settings.currency == "EUR"


@pytest.mark.parametrize("name", INTEGERS)
@pytest.mark.parametrize("raw", ["4.95", "lots", "None"])
def test_a_non_integer_value_names_the_variable_and_the_value(name: str, raw: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: raw})

    assert str(raised.value) == f"{name} must be an integer, got {raw!r}"
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("raw", ["0", "-3"])
def test_a_pool_of_fewer_than_one_connection_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="SHOPCORE_DATABASE_POOL_SIZE must be at least 1"):
        Settings.from_env({"SHOPCORE_DATABASE_POOL_SIZE": raw})


@pytest.mark.parametrize("raw", ["0", "-1"])
def test_a_pool_timeout_under_a_second_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS"):
        Settings.from_env({"SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS": raw})


def test_the_pool_timeout_reaches_the_engine() -> None:
    from apps.components import Components

    settings = Settings.from_env(
        {
            "SHOPCORE_DATABASE_URL": "postgresql+asyncpg://shop@db/shop",
            "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS": "4",
        }
    )
    engine = Components(settings).engine

    assert engine.pool.timeout() == 4
