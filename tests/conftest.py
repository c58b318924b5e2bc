"""Suite-wide policy: hypothesis profiles, and what happens when a backing service is down."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.databases import drop_postgres, scratch_postgres

settings.register_profile("default", deadline=None)
# CI is a shared 2-core machine: no deadlines, and no health check that times the machine.
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

SERVICE_MARKERS = ("postgres", "redis")


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI a service test that skips is a failure: the services are meant to be up there."""
    outcome = yield
    report = outcome.get_result()
    if not (in_ci() and report.skipped):
        return
    if any(item.get_closest_marker(name) for name in SERVICE_MARKERS):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"service test skipped under CI=true: {reason}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of this session's own on the machine's PostgreSQL; skips (and
    fails under CI=true) when the server is down."""
    url = scratch_postgres()
    yield url
    drop_postgres(url)
