"""Suite-wide policy: hypothesis profiles, and what happens when a backing service is down."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.databases import drop_postgres, scratch_postgres
from tests.support.redis_cluster import LocalCluster, running_cluster

settings.register_profile("default", deadline=None)
# CI is a shared 2-core machine: no deadlines, and no health check that times the machine.
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
# `make check`, the inner loop: every property still runs, on a tenth of the examples
# (`--hypothesis-profile=dev`); `make test` and CI keep their counts.
settings.register_profile(
    "dev", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

SERVICE_MARKERS = ("postgres", "redis")
SYSTEM_TESTS = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marked by location: every test under tests/system starts OS processes of the shop."""
    for item in items:
        if item.path.is_relative_to(SYSTEM_TESTS):
            item.add_marker(pytest.mark.processes)


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


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A Redis Cluster of this session's own (three primaries, three replicas, on spare ports),
    started once (about 2 s) and shared: tests keep to key prefixes of their own and kill no
    node of it. Skips when redis-server is not installed (fails under CI=true, for a test
    marked `redis`)."""
    with running_cluster() as cluster:
        yield cluster
