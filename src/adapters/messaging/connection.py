"""The Redis clients every messaging adapter expects: responses decoded to str, and timeouts,
so that a Redis lost in a network partition fails a call instead of hanging it (a relay would
otherwise hold its outbox claim forever).

One server or a Redis Cluster (`cluster=True`, SHOPCORE_REDIS_CLUSTER): the URL names one node
of the cluster and the client finds the others, follows the slots as they move and, when a
primary fails, finds its promoted replica on its next tries. The adapters take either client:
what they send works on both, since every script and transaction they run touches keys of one
hash slot (`adapters.messaging.keys`).
"""

from __future__ import annotations

from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.exceptions import RedisClusterException, RedisError

RedisClient: TypeAlias = Redis | RedisCluster

# What a Redis that fails raises: its errors and, from a cluster client, RedisClusterException
# too, which is not a RedisError (no node reachable, a slot no node serves mid-failover).
RedisFailure = (RedisError, RedisClusterException)

# Longer than any blocking read the consumers make (their block_ms is about a second).
SOCKET_TIMEOUT_SECONDS = 30.0


def open_client(url: str, *, cluster: bool = False, **options: Any) -> RedisClient:
    """A client of the server, or of the cluster, at `url`; `options` as redis-py takes them
    (for a cluster, `max_connections` counts per node)."""
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)


def connect(url: str, *, cluster: bool = False, max_connections: int = 50) -> RedisClient:
    # str responses keep the stream fields and ids one type throughout; payloads are JSON text.
    return open_client(
        url,
        cluster=cluster,
        decode_responses=True,
        max_connections=max_connections,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=5.0,
        health_check_interval=30,
    )


async def subscriber(client: RedisClient) -> PubSub:
    """A connection for classic pub/sub. A cluster broadcasts every PUBLISH to every node, so
    a subscriber may listen on any: a node picked at random, another at each call, so that
    resubscribing after a node died soon lands on a live one (redis-py's own choice, the node
    of the channel's slot, stays on the dead node until something refreshes its map of
    slots). Sharded pub/sub (SSUBSCRIBE) would spread the load, but dies with a node too, and
    one channel of a few messages a minute needs no spreading."""
    if isinstance(client, RedisCluster):
        await client.initialize()  # the map of nodes; a no-op once made
        return client.pubsub(node=client.get_random_node())
    return client.pubsub()
