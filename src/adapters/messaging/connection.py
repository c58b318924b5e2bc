"""The Redis client every messaging adapter expects: responses decoded to str, and timeouts,
so that a Redis lost in a network partition fails a call instead of hanging it (a relay would
otherwise hold its outbox claim forever)."""

from __future__ import annotations

from redis.asyncio import Redis

# Longer than any blocking read the consumers make (their block_ms is about a second).
SOCKET_TIMEOUT_SECONDS = 30.0


def connect(url: str, *, max_connections: int = 50) -> Redis:
    # str responses keep the stream fields and ids one type throughout; payloads are JSON text.
    return Redis.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=5.0,
        health_check_interval=30,
    )
