"""Messaging, worker and notification settings from the environment."""

from __future__ import annotations

import pytest

from apps.settings import Settings, SettingsError


def test_messaging_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.events_stream == "shopcore:events"
    assert settings.worker_concurrency == 16
    assert settings.worker_claim_idle_ms == 60_000
    assert settings.relay_poll_ms == 500
    assert settings.expire_interval_seconds == 30
    assert settings.events_retention == 100_000
    assert (settings.smtp_url, settings.mail_file, settings.mail_from) == (
        None,
        None,
        "shop@localhost",
    )


def test_messaging_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SHOPCORE_EVENTS_STREAM": "shop:events",
            "SHOPCORE_EVENTS_RETENTION": "500",
            "SHOPCORE_WORKER_CONCURRENCY": "3",
            "SHOPCORE_WORKER_CLAIM_IDLE_MS": "2500",
            "SHOPCORE_RELAY_POLL_MS": "20",
            "SHOPCORE_EXPIRE_INTERVAL_SECONDS": "5",
            "SHOPCORE_SMTP_URL": "smtps://mail.example.com",
            "SHOPCORE_MAIL_FROM": "Shop <shop@example.com>",
            "SHOPCORE_MAIL_FILE": "/tmp/mail.jsonl",
            "SHOPCORE_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.events_stream == "shop:events"
    assert settings.events_retention == 500
    assert settings.worker_concurrency == 3
    assert settings.worker_claim_idle_ms == 2500
    assert settings.relay_poll_ms == 20
    assert settings.expire_interval_seconds == 5
    assert settings.smtp_url == "smtps://mail.example.com"
    assert settings.mail_from == "Shop <shop@example.com>"
    assert settings.mail_file == "/tmp/mail.jsonl"
    # The environment's default database is SQL, so with Redis the workers handle events.
    assert not settings.events_in_process


@pytest.mark.parametrize(
    "name",
    [
        "SHOPCORE_WORKER_CONCURRENCY",
        "SHOPCORE_WORKER_CLAIM_IDLE_MS",
        "SHOPCORE_RELAY_POLL_MS",
        "SHOPCORE_EXPIRE_INTERVAL_SECONDS",
        "SHOPCORE_EVENTS_RETENTION",
    ],
)
def test_counts_and_intervals_must_be_positive(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "0"})


def test_catalog_cache_and_stream_settings() -> None:
    defaults = Settings.from_env({})
    changed = Settings.from_env(
        {"SHOPCORE_CATALOG_CACHE_SECONDS": "0", "SHOPCORE_STREAM_HEARTBEAT_MS": "250"}
    )

    assert (defaults.catalog_cache_seconds, defaults.stream_heartbeat_ms) == (60, 15_000)
    assert (changed.catalog_cache_seconds, changed.stream_heartbeat_ms) == (0, 250)


@pytest.mark.parametrize(
    "variable", ["SHOPCORE_CATALOG_CACHE_SECONDS", "SHOPCORE_STREAM_HEARTBEAT_MS"]
)
def test_catalog_cache_and_stream_settings_refuse_nonsense(variable: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({variable: "-1"})
