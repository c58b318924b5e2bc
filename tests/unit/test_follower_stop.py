"""A follower of a Redis channel is stopped within a bounded wait, even when its cancellation
is swallowed (redis-py can swallow one that lands while it settles a read): an API's shutdown
hung on exactly that once, in a test run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from adapters.messaging.channel import stop_following

logger = logging.getLogger("tests.follower")


async def test_a_follower_that_ends_when_cancelled_is_stopped_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    follower = asyncio.create_task(asyncio.sleep(3600), name="follower")
    await asyncio.sleep(0)

    with caplog.at_level(logging.WARNING, logger="tests.follower"):
        await stop_following(follower, logger, within=5)

    assert follower.cancelled()
    assert caplog.records == []


async def test_a_follower_that_swallows_its_cancellation_does_not_hang_the_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def swallowing() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # as redis-py can, at the wrong moment
            await asyncio.sleep(3600)
        await release.wait()  # the next message, which does not come

    follower = asyncio.create_task(swallowing(), name="swallowing-follower")
    await asyncio.sleep(0)
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="tests.follower"):
        await stop_following(follower, logger, within=0.2)

    assert time.monotonic() - started < 2
    assert not follower.done()
    assert "swallowing-follower did not stop within 0.2 s" in caplog.text
    release.set()
    await follower
