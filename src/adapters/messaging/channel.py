"""Following a Redis pub/sub channel for as long as a process runs.

A message published while a process is not subscribed never reaches it, so what a follower
keeps from the channel must be made whole again each time it is subscribed (again): redis-py
confirms every subscription, the first and each one after it reconnects by itself, and
`subscribed` runs then. When the connection fails, `lost` runs and the loop subscribes again
after a backoff; it ends only when it is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.machinery.backoff import backoff
from adapters.messaging.connection import subscriber


async def follow(
    redis: Any,
    channel: str,
    *,
    subscribed: Callable[[], Awaitable[None]],
    message: Callable[[object], None],
    lost: Callable[[], None],
    logger: logging.Logger,
    unreachable: str,
) -> None:
    """Call `message` with every message's data; `unreachable` is logged at the first of
    a run of failures."""
    failures = 0
    while True:
        pubsub = None
        try:
            pubsub = await subscriber(redis)
            await pubsub.subscribe(channel)
            async for received in pubsub.listen():
                if received["type"] == "subscribe":
                    await subscribed()
                    failures = 0
                elif received["type"] == "message":
                    message(received["data"])
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            if failures == 1:
                logger.warning(unreachable, exc_info=True)
        finally:
            lost()
            if pubsub is not None:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
        await asyncio.sleep(backoff(failures, 0.05, 5.0))


# How long a stop waits for a follower to end once cancelled.
STOP_WAIT_SECONDS = 5.0


async def stop_following(
    follower: asyncio.Task[None], logger: logging.Logger, *, within: float = STOP_WAIT_SECONDS
) -> None:
    """Cancel `follower` and wait for it, at most `within` seconds. redis-py can swallow a
    cancellation that lands while it settles a read (redis/redis-py#2028), and the follower
    then waits for the next message, which may never come: a process must not hang in its
    shutdown on that (a test run hung so), so the wait is bounded and the follower, if still
    running, is left to end with the event loop."""
    follower.cancel()
    _, pending = await asyncio.wait({follower}, timeout=within)
    if pending:
        logger.warning(
            "%s did not stop within %g s of its cancellation", follower.get_name(), within
        )
    elif not follower.cancelled() and (error := follower.exception()) is not None:
        logger.warning("%s ended with %r", follower.get_name(), error)
