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

    nullable = " or `none`" if name == "SHOPCORE_FREE_SHIPPING_FROM" else ""
    assert str(raised.value) == f"{name} must be an integer{nullable}, got {raw!r}"
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


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://shop@db/shop",
        "postgresql://shop:hunter2@db/shop",
        "postgresql+psycopg://shop@db/shop",
        "sqlite:///shop.db",
        "garbage",
    ],
)
def test_a_database_url_of_another_form_is_refused_with_the_forms_that_work(raw: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SHOPCORE_DATABASE_URL": raw})

    message = str(raised.value)
    assert message.startswith("SHOPCORE_DATABASE_URL must be a URL of the form")
    assert "postgresql+asyncpg://" in message and "sqlite+aiosqlite:///" in message
    assert "hunter2" not in message  # a URL may carry a password: it is not repeated


@pytest.mark.parametrize(
    "raw", ["postgresql+asyncpg://shop@db:5432/shop", "sqlite+aiosqlite:///var/shop.db"]
)
def test_both_supported_database_urls_are_taken(raw: str) -> None:
    assert Settings.from_env({"SHOPCORE_DATABASE_URL": raw}).database_url == raw


@pytest.mark.parametrize("raw", ["euro", "eur", "EURO", "€"])
def test_a_currency_that_is_not_an_iso_code_is_refused_with_an_example(raw: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SHOPCORE_CURRENCY": raw})

    assert str(raised.value) == (
        "SHOPCORE_CURRENCY must be an ISO 4217 currency code in capitals, such as EUR or USD"
    )


def test_a_refused_value_that_has_a_word_for_none_mentions_it() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SHOPCORE_FREE_SHIPPING_FROM": "never"})

    assert str(raised.value) == (
        "SHOPCORE_FREE_SHIPPING_FROM must be an integer or `none`, got 'never'"
    )
