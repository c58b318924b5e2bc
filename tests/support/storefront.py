"""Shopping through the API in tests: a customer's cart with items, a checkout, an order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from shopcore.cart.model import CartAccess
from shopcore.cart.queries import get_cart
from shopcore.customers.model import Customer
from shopcore.inventory.queries import availability
from shopcore.ordering.queries import list_orders
from tests.support.api import Api

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Street",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}
_keys = itertools.count(1)


def new_key() -> str:
    return f"checkout-key-{next(_keys)}"


async def filled_cart(api: Api, customer: Customer, *lines: tuple[str, int]) -> str:
    """The customer's open cart holding `lines` of (sku, quantity); returns its id."""
    opened = await api.client.post("/v1/carts", headers=api.auth(customer))
    assert opened.status_code in (200, 201), opened.text
    cart_id: str = opened.json()["id"]
    for sku, quantity in lines:
        added = await api.client.post(
            f"/v1/carts/{cart_id}/items",
            json={"sku": sku, "quantity": quantity},
            headers=api.auth(customer),
        )
        assert added.status_code == 200, added.text
    return cart_id


def checkout_body(cart_id: str, payment_token: str = "tok_visa") -> dict[str, Any]:
    return {"cart_id": cart_id, "shipping_address": ADDRESS, "payment_token": payment_token}


async def checkout(
    api: Api,
    customer: Customer,
    cart_id: str,
    *,
    key: str | None = None,
    payment_token: str = "tok_visa",
) -> httpx.Response:
    return await api.client.post(
        "/v1/checkout",
        json=checkout_body(cart_id, payment_token),
        headers={**api.auth(customer), "Idempotency-Key": key or new_key()},
    )


async def bought(api: Api, customer: Customer, sku: str, quantity: int = 1) -> dict[str, Any]:
    """An order the customer placed through the API for `quantity` of `sku`."""
    cart_id = await filled_cart(api, customer, (sku, quantity))
    response = await checkout(api, customer, cart_id)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


# State as the shop sees it, read through the side shop rather than the API under test.
async def available(api: Api, sku: str) -> int:
    levels = await availability(api.shop.ports.stock_views, [sku], api.shop.ports.clock.now())
    return levels[sku]


async def orders_of(api: Api, customer_id: str) -> list[Any]:
    page = await list_orders(api.shop.uow(), customer_id=customer_id, limit=100)
    return list(page.items)


async def cart_status(api: Api, cart_id: str, customer_id: str) -> str:
    cart = await get_cart(api.shop.uow(), cart_id, CartAccess(customer_id=customer_id))
    return str(cart.status)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://shopcore.dev/problems/{code}"
    assert body["status"] == status
    return body


@asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client that runs the app on the caller's event loop, so `asyncio.gather` really
    overlaps requests. (Litestar's AsyncTestClient hands each request to a portal thread and
    waits for it: its requests never overlap.) Runs the app's lifespan around the client."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan
