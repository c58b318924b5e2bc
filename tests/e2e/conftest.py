"""Every end-to-end test runs through the ASGI app on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.support.api import Api, api_app, test_settings
from tests.support.databases import empty_postgres, fresh_sqlite


async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        engine = await fresh_sqlite(tmp_path)
        await engine.dispose()
        return f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = await empty_postgres(url, pool_size=1)
    await engine.dispose()
    return url


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    url = await database_url(request, tmp_path)
    app, gateway, side = api_app(test_settings(url))
    try:
        async with AsyncTestClient(app) as client:
            yield Api(client=client, app=app, gateway=gateway, shop=side.shop(), database_url=url)
    finally:
        await side.engine().dispose()
