"""SHOPCORE_REFRESH_TOKEN_DAYS: how long a refresh token lives, read once into Settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.api import http_config
from apps.components import Components
from apps.settings import Settings, SettingsError


def test_refresh_tokens_live_thirty_days_by_default() -> None:
    assert Settings.from_env({}).refresh_token_days == 30
    assert Settings().refresh_token_days == 30


def test_the_refresh_token_lifetime_is_read_from_its_variable() -> None:
    settings = Settings.from_env({"SHOPCORE_REFRESH_TOKEN_DAYS": "7"})

    assert settings.refresh_token_days == 7
    assert http_config(settings, "k" * 32).refresh_token_days == 7
    assert Components(settings).shop.ports.session_ttl == timedelta(days=7)


@pytest.mark.parametrize("raw", ["0", "-1"])
def test_a_lifetime_under_a_day_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="SHOPCORE_REFRESH_TOKEN_DAYS must be at least 1"):
        Settings.from_env({"SHOPCORE_REFRESH_TOKEN_DAYS": raw})


def test_a_non_integer_lifetime_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="SHOPCORE_REFRESH_TOKEN_DAYS must be an integer"):
        Settings.from_env({"SHOPCORE_REFRESH_TOKEN_DAYS": "a month"})
