"""What every idempotency-key store must do (Stripe's rules), on memory, SQLite, PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from shopcore.application.idempotency import STALE_AFTER, InFlight, Mismatch, Replay, Started
from tests.contracts.backends import Backend

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
DAY = timedelta(hours=24)


async def test_the_first_claim_of_a_key_starts_the_request(backend: Backend) -> None:
    keys = backend.idempotency()

    assert await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY) == Started()


async def test_a_finished_request_is_replayed_for_the_same_key_and_request(
    backend: Backend,
) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    await keys.finish("ada", "key-1", 201, b'{"id":"order-1"}')

    again = await keys.claim("ada", "key-1", "fp-a", NOW + timedelta(minutes=1), NOW + DAY)

    assert again == Replay(status_code=201, body=b'{"id":"order-1"}')


async def test_the_same_key_with_another_request_is_a_mismatch(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    await keys.finish("ada", "key-1", 201, b"{}")

    assert await keys.claim("ada", "key-1", "fp-b", NOW, NOW + DAY) == Mismatch()


async def test_a_key_still_running_is_in_flight(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)

    assert await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY) == InFlight(since=NOW)


async def test_keys_belong_to_their_owner(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    await keys.finish("ada", "key-1", 201, b"ada's")

    assert await keys.claim("bob", "key-1", "fp-a", NOW, NOW + DAY) == Started()


async def test_an_expired_key_can_be_used_again(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    await keys.finish("ada", "key-1", 201, b"old")
    later = NOW + DAY + timedelta(seconds=1)

    assert await keys.claim("ada", "key-1", "fp-b", later, later + DAY) == Started()


async def test_an_abandoned_claim_frees_the_key(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    await keys.abandon("ada", "key-1")

    assert await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY) == Started()


async def test_a_claim_whose_request_died_is_taken_over_after_a_while(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY)
    soon = NOW + STALE_AFTER - timedelta(seconds=1)
    late = NOW + STALE_AFTER

    assert await keys.claim("ada", "key-1", "fp-a", soon, soon + DAY) == InFlight(since=NOW)
    assert await keys.claim("ada", "key-1", "fp-a", late, late + DAY) == Started()


async def test_of_many_concurrent_claims_exactly_one_starts(backend: Backend) -> None:
    keys = backend.idempotency()

    claims = await asyncio.gather(
        *(keys.claim("ada", "key-race", "fp-a", NOW, NOW + DAY) for _ in range(20))
    )

    assert claims.count(Started()) == 1
    assert all(claim == InFlight(since=NOW) for claim in claims if claim != Started())


async def test_a_claim_in_flight_names_the_resource_its_request_creates(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY, "order-1")

    again = await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY, "order-2")

    assert again == InFlight(resource="order-1", since=NOW)


async def test_a_claim_that_names_a_resource_is_never_taken_over(backend: Backend) -> None:
    """Its work is durable on its own: a retry is answered from the resource, never run
    again (which could place a second order)."""
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY, "order-1")
    late = NOW + STALE_AFTER * 10

    assert await keys.claim("ada", "key-1", "fp-a", late, late + DAY, "order-2") == InFlight(
        resource="order-1", since=NOW
    )


async def test_an_expired_key_forgets_its_resource(backend: Backend) -> None:
    keys = backend.idempotency()
    await keys.claim("ada", "key-1", "fp-a", NOW, NOW + DAY, "order-1")
    later = NOW + DAY + timedelta(seconds=1)

    assert await keys.claim("ada", "key-1", "fp-a", later, later + DAY, "order-2") == Started()
    assert await keys.claim("ada", "key-1", "fp-a", later, later + DAY) == InFlight(
        resource="order-2", since=later
    )
