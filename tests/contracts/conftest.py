from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.memory.clock import ManualClock
from tests.contracts.backends import BACKEND_FACTORIES, BACKEND_MARKS, Backend
from tests.contracts.builders import START


@pytest.fixture(
    params=[
        pytest.param(name, marks=BACKEND_MARKS.get(name, ()), id=name) for name in BACKEND_FACTORIES
    ]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    created = await BACKEND_FACTORIES[request.param](request)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
