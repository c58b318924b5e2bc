"""A checkout whose request died: the retry with the same `Idempotency-Key` is answered from
the order the key names, once the recovery has driven it to its end; never a second order,
never a 500.

The first request is begun as the API begins one (the key claimed for the order it will
place), in a "process" of its own over the same database and bank, and dies at a chosen
step (tests/support/crashes.py); the retry goes through the API, as a client's would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from adapters.db.idempotency import SqlIdempotencyStore
from adapters.http.idempotency import fingerprint
from adapters.memory.hasher import FastInsecureHasher
from apps.api import build_app
from apps.components import Components
from shopcore import PlaceOrder
from shopcore.application.idempotency import IdempotencyStore
from shopcore.customers.model import Customer
from shopcore.shared.address import Address
from shopcore.shared.ids import new_id
from tests.e2e.conftest import BACKENDS, database_url
from tests.support.api import Api, test_settings
from tests.support.crashes import Crash, CrashingGateway, CrashPlan, database_failed
from tests.support.storefront import (
    ADDRESS,
    assert_problem,
    available,
    cart_status,
    checkout_body,
    filled_cart,
    new_key,
    orders_of,
)

SETTLE_WITHIN = 1  # seconds: the first request's time, after which a retry may recover it


@dataclass
class Scene:
    api: Api
    plan: CrashPlan
    store: IdempotencyStore  # the key store, as the first request's process saw it
    customer: Customer
    cart_id: str
    key: str

    @property
    def body(self) -> bytes:
        return json.dumps(checkout_body(self.cart_id)).encode()

    async def first_request_dies(self, *, after: int) -> None:
        """Begin the checkout as the API does, then die after the bank's answer number
        `after`; 0: let the work finish and die before the answer was recorded; -1: die while
        asking the bank."""
        now = datetime.now(UTC)
        order_id = new_id()
        await self.store.claim(
            self.customer.id,
            self.key,
            fingerprint("POST", "/v1/checkout", self.body),
            now,
            now + timedelta(hours=24),
            order_id,
        )
        self.plan.at, self.plan.armed = after, after > 0
        self.api.gateway.die_asking = after < 0  # type: ignore[attr-defined]
        command = PlaceOrder(
            customer_id=self.customer.id,
            cart_id=self.cart_id,
            shipping_address=Address(**ADDRESS),
            payment_token="tok_visa",
            order_id=order_id,
            settle_by=now + timedelta(seconds=SETTLE_WITHIN),
        )
        if after == 0:
            await self.api.shop.handle(command)
            return
        with pytest.raises(Crash):
            await self.api.shop.handle(command)

    async def retry(self) -> httpx.Response:
        response: httpx.Response = await self.api.client.post(
            "/v1/checkout",
            content=self.body,
            headers={
                **self.api.auth(self.customer),
                "Idempotency-Key": self.key,
                "Content-Type": "application/json",
            },
        )
        return response


@pytest.fixture(params=BACKENDS)
async def scene(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scene]:
    settings = test_settings(
        await database_url(request, tmp_path), settle_within_seconds=SETTLE_WITHIN
    )
    plan = CrashPlan()
    gateway = CrashingGateway(plan=plan)
    app = build_app(Components(settings, gateway=gateway, hasher=FastInsecureHasher()))
    # The first request's process: the same database and bank, a shop of its own.
    first = Components(settings, gateway=gateway, hasher=FastInsecureHasher())
    try:
        async with AsyncTestClient(app) as client:
            api = Api(client=client, app=app, gateway=gateway, shop=first.shop)
            await api.product("RC-M1", stock=3)
            customer = await api.customer()
            cart_id = await filled_cart(api, customer, ("RC-M1", 2))
            # The key store as the first request's process sees it (its own connections).
            store = SqlIdempotencyStore(first.engine)
            yield Scene(api, plan, store, customer, cart_id, new_key())
    finally:
        await first.aclose()


async def after_the_deadline() -> None:
    await asyncio.sleep(SETTLE_WITHIN + 0.2)


def assert_waited_or_answered(early: httpx.Response, order_id: str) -> None:
    """A retry within the checkout's time waits for it (409 in use); on a machine slow enough
    that the time ran out before the retry, it already gets the outcome. Never anything else."""
    if early.status_code == 409:
        assert_problem(early, 409, "idempotency-key-in-use")
    else:
        assert (early.status_code, early.json()["id"]) == (201, order_id), early.text


async def test_a_request_that_died_after_its_order_was_placed_replays_the_order(
    scene: Scene,
) -> None:
    await scene.first_request_dies(after=0)

    retried = await scene.retry()

    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    [order] = await orders_of(scene.api, scene.customer.id)
    assert (retried.json()["id"], retried.json()["status"]) == (order.id, "confirmed")
    again = await scene.retry()
    assert again.status_code == 201 and again.json()["id"] == order.id


async def test_a_request_that_died_after_the_bank_authorized_is_confirmed_on_retry(
    scene: Scene,
) -> None:
    """The bank authorized, the process died before writing it down: the retry waits for the
    checkout's time, then recovery finds the authorization under the order's key."""
    await scene.first_request_dies(after=1)

    early = await scene.retry()
    await after_the_deadline()
    retried = await scene.retry()

    assert retried.status_code == 201, retried.text
    [order] = await orders_of(scene.api, scene.customer.id)
    assert retried.json()["id"] == order.id
    assert_waited_or_answered(early, order.id)
    assert await available(scene.api, "RC-M1") == 1
    assert await cart_status(scene.api, scene.cart_id, scene.customer.id) == "checked_out"
    assert len(scene.api.gateway.charges) == 1


async def test_a_request_that_died_before_paying_is_undone_and_may_be_retried(
    scene: Scene,
) -> None:
    await scene.first_request_dies(after=-1)  # the cart held, the bank never asked
    assert await available(scene.api, "RC-M1") == 1

    await after_the_deadline()
    interrupted = await scene.retry()

    assert_problem(interrupted, 503, "checkout-interrupted")
    assert interrupted.headers["retry-after"]
    assert await available(scene.api, "RC-M1") == 3
    assert await cart_status(scene.api, scene.cart_id, scene.customer.id) == "open"
    assert scene.api.gateway.charges == {}
    # The key was freed: the same request now simply goes through.
    placed = await scene.retry()
    assert placed.status_code == 201, placed.text
    assert "idempotent-replayed" not in placed.headers
    orders = await orders_of(scene.api, scene.customer.id)
    assert sorted(str(order.status) for order in orders) == ["cancelled", "confirmed"]


async def test_a_checkout_the_database_failed_answers_503_and_its_retry_the_outcome(
    scene: Scene,
) -> None:
    """The bank authorized, then writing it down failed (Busy): the answer is 503, the order
    lives on, and the key waits for it; once the checkout's time is up, the retry gets it."""
    scene.plan.at, scene.plan.armed, scene.plan.fault = 1, True, database_failed

    first = await scene.retry()  # the first request, through the API

    assert_problem(first, 503, "busy")
    assert first.headers["retry-after"]
    early = await scene.retry()
    await after_the_deadline()
    retried = await scene.retry()
    assert retried.status_code == 201, retried.text
    [order] = await orders_of(scene.api, scene.customer.id)
    assert retried.json()["id"] == order.id
    assert_waited_or_answered(early, order.id)
    assert len(scene.api.gateway.charges) == 1
