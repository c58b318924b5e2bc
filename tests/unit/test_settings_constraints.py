"""The constraints each setting declares, enforced when the environment is read.

A refused value stops the command with a message that names the variable and the rule, and
repeats the value only when it is not a number at all: a secret never reaches a log.
"""

from __future__ import annotations

import traceback

import pytest

from apps.settings import Settings, SettingsError

# The lowest value each integer setting accepts.
LOWEST = {
    "SHOPCORE_DATABASE_POOL_SIZE": 1,
    "SHOPCORE_DATABASE_POOL_TIMEOUT_SECONDS": 1,
    "SHOPCORE_SHIPPING_RATE": 0,
    "SHOPCORE_FREE_SHIPPING_FROM": 0,
    "SHOPCORE_DEFAULT_TAX_RATE": 0,
    "SHOPCORE_RESERVATION_TTL_SECONDS": 1,
    "SHOPCORE_ACCESS_TOKEN_SECONDS": 1,
    "SHOPCORE_REFRESH_TOKEN_DAYS": 1,
    "SHOPCORE_RATE_LIMIT_PER_MINUTE": 1,
    "SHOPCORE_AUTH_RATE_LIMIT_PER_MINUTE": 1,
    "SHOPCORE_CHECKOUT_RATE_LIMIT_PER_MINUTE": 1,
    "SHOPCORE_EVENTS_RETENTION": 1,
    "SHOPCORE_WORKER_CONCURRENCY": 1,
    "SHOPCORE_WORKER_CLAIM_IDLE_MS": 1,
    "SHOPCORE_WORKER_HTTP_PORT": 1,
    "SHOPCORE_RELAY_POLL_MS": 1,
    "SHOPCORE_EXPIRE_INTERVAL_SECONDS": 1,
    "SHOPCORE_SETTLE_WITHIN_SECONDS": 1,
    "SHOPCORE_RECOVERY_INTERVAL_SECONDS": 1,
    "SHOPCORE_CATALOG_CACHE_SECONDS": 0,
    "SHOPCORE_CATALOG_NEAR_CACHE_SECONDS": 0,
    "SHOPCORE_STREAM_HEARTBEAT_MS": 1,
    "SHOPCORE_STREAM_MAX_PER_CLIENT": 1,
    "SHOPCORE_STREAM_MAX_PER_PROCESS": 1,
    "SHOPCORE_STREAM_MAX_SECONDS": 1,
    "SHOPCORE_SHUTDOWN_GRACE_SECONDS": 1,
}
# The shortest each secret may be, in characters.
SHORTEST = {
    "SHOPCORE_JWT_SECRET": 32,
    "SHOPCORE_WEBHOOK_SECRET": 16,
    "SHOPCORE_METRICS_TOKEN": 16,
}


def _field(name: str) -> str:
    return name.removeprefix("SHOPCORE_").lower()


def test_every_integer_setting_has_a_lowest_value() -> None:
    integers = {variable.name for variable in Settings.variables() if "int" in repr(variable.type)}

    assert integers == set(LOWEST)


@pytest.mark.parametrize(("name", "lowest"), LOWEST.items())
def test_an_integer_below_its_lowest_value_is_refused_naming_the_variable(
    name: str, lowest: int
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: str(lowest - 1)})

    assert str(raised.value) == f"{name} must be at least {lowest}"


# What a lowest value needs beside it to be accepted: the gateway's timeout must be shorter
# than the checkout's time.
ALONGSIDE = {"SHOPCORE_SETTLE_WITHIN_SECONDS": {"SHOPCORE_GATEWAY_TIMEOUT_SECONDS": "0.5"}}


@pytest.mark.parametrize(("name", "lowest"), LOWEST.items())
def test_the_lowest_value_itself_is_accepted(name: str, lowest: int) -> None:
    environ = {name: str(lowest), **ALONGSIDE.get(name, {})}
    assert getattr(Settings.from_env(environ), _field(name)) == lowest


@pytest.mark.parametrize(
    ("timeout", "within"), [("60", "60"), ("61", "60"), ("20", "10"), ("1.5", "1")]
)
def test_a_gateway_timeout_not_shorter_than_the_checkouts_time_is_refused(
    timeout: str, within: str
) -> None:
    environ = {
        "SHOPCORE_GATEWAY_TIMEOUT_SECONDS": timeout,
        "SHOPCORE_SETTLE_WITHIN_SECONDS": within,
    }
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)

    assert "SHOPCORE_GATEWAY_TIMEOUT_SECONDS" in str(raised.value)
    assert "must be shorter than SHOPCORE_SETTLE_WITHIN_SECONDS" in str(raised.value)


def test_a_gateway_timeout_just_shorter_than_the_checkouts_time_is_accepted() -> None:
    settings = Settings.from_env(
        {"SHOPCORE_GATEWAY_TIMEOUT_SECONDS": "59.9", "SHOPCORE_SETTLE_WITHIN_SECONDS": "60"}
    )

    assert (settings.gateway_timeout_seconds, settings.settle_within_seconds) == (59.9, 60)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_gateway_timeout_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SHOPCORE_GATEWAY_TIMEOUT_SECONDS": value})

    assert "SHOPCORE_GATEWAY_TIMEOUT_SECONDS" in str(raised.value)


@pytest.mark.parametrize("name", LOWEST)
def test_every_integer_setting_refuses_text_naming_the_variable_and_the_value(name: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: "ten"})

    nullable = " or `none`" if name == "SHOPCORE_FREE_SHIPPING_FROM" else ""
    assert str(raised.value) == f"{name} must be an integer{nullable}, got 'ten'"


@pytest.mark.parametrize(("name", "shortest"), SHORTEST.items())
def test_a_short_secret_is_refused_without_its_value(name: str, shortest: int) -> None:
    secret = "hunter2-" + "s" * (shortest - 9)

    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: secret})

    assert str(raised.value) == f"{name} must be at least {shortest} characters long"
    assert secret not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize(("name", "shortest"), SHORTEST.items())
def test_a_secret_of_the_shortest_length_is_accepted(name: str, shortest: int) -> None:
    secret = "k" * shortest

    assert getattr(Settings.from_env({name: secret}), _field(name)) == secret


def test_every_empty_variable_counts_as_unset() -> None:
    empty = {variable.name: "" for variable in Settings.variables()}

    assert Settings.from_env(empty) == Settings.from_env({})


def test_cors_origins_are_comma_separated_and_blanks_are_dropped() -> None:
    settings = Settings.from_env(
        {"SHOPCORE_CORS_ORIGINS": " https://a.example ,,https://b.example, "}
    )

    assert settings.cors_origins == ("https://a.example", "https://b.example")
