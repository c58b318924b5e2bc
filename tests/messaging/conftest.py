"""The messaging suites run on one Redis server and again on a Redis Cluster of the session's
own (tests/support/redis_cluster.py): what the adapters send must work on both."""

from collections.abc import AsyncIterator

import pytest

from tests.support.messaging import Bed, bed_on, database, postgres
from tests.support.redis import require_redis
from tests.support.tracing import spans

__all__ = ["bed", "database", "postgres", "spans"]


@pytest.fixture(params=["server", "cluster"])
async def bed(request: pytest.FixtureRequest) -> AsyncIterator[Bed]:
    if request.param == "server":
        url, cluster = require_redis(), False
    else:
        url, cluster = request.getfixturevalue("redis_cluster").url, True
    async with bed_on(url, cluster=cluster) as bed:
        yield bed
