"""A customer of the run: fills a cart, checks out, again and again until the load stops.

Each checkout has its own `Idempotency-Key`, kept with the exact body sent under it
(`Attempt`): a retry resends the same bytes, and the invariants replay them at the end. The
card is mostly tok_visa, sometimes tok_decline (402, the cart comes back open) or tok_error
(a gateway outage: 503, retried, then given up). A 409 out-of-stock takes the short SKU out
of the cart. A shopper starts no checkout after the load's end but finishes the one it is in
(within KEY_BUDGET: longer than the shop takes to settle a checkout whose request died).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tests.faults.answers import Client
from tests.faults.cast import SKUS
from tests.faults.retrying import persist

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Street",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}
CARDS = ("tok_visa", "tok_decline", "tok_error")
CARD_WEIGHTS = (85, 10, 5)
KEY_BUDGET = 45.0  # seconds a shopper keeps retrying one key
BUDGET = 15.0  # the same for a cart's requests


@dataclass
class Attempt:
    """One checkout key: what was sent under it and how it ended for the customer."""

    customer_id: str
    key: str
    body: bytes
    status: int | None = None  # the last answer's (None: none came)
    order_id: str | None = None  # from a 201


@dataclass
class Shopper:
    customer_id: str
    client: Client
    attempts: list[Attempt] = field(default_factory=list)

    async def shop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._purchase()
            await asyncio.sleep(self.client.rng.uniform(0.1, 0.6))

    async def _purchase(self) -> None:
        cart = await self._json("POST", "/v1/carts", "/v1/carts")
        if cart is None:
            return
        path = f"/v1/carts/{cart['id']}/items"
        if not cart["lines"]:
            line = {"sku": self.client.rng.choice(SKUS), "quantity": self.client.rng.randint(1, 2)}
            if await self._json("POST", "/v1/carts/{id}/items", path, line) is None:
                return
        for sku in await self._check_out(cart["id"]):
            await self._json("DELETE", "/v1/carts/{id}/items/{sku}", f"{path}/{sku}")

    async def _check_out(self, cart_id: str) -> list[str]:
        """Check the cart out under a new key; returns the SKUs a 409 found short."""
        card = self.client.rng.choices(CARDS, CARD_WEIGHTS)[0]
        body = {"cart_id": cart_id, "shipping_address": ADDRESS, "payment_token": card}
        attempt = Attempt(
            self.customer_id,
            f"{self.client.actor}-{len(self.attempts)}",
            msgspec.json.encode(body),
        )
        self.attempts.append(attempt)
        response = await persist(
            lambda: self.client.request(
                "POST", "/v1/checkout", "/v1/checkout", key=attempt.key, content=attempt.body
            ),
            budget=KEY_BUDGET,
        )
        if response is None:
            return []
        attempt.status = response.status_code
        payload = response.json()
        if response.status_code == 201:
            attempt.order_id = payload["id"]
        return list(payload.get("skus") or []) if response.status_code == 409 else []

    async def _json(
        self, method: str, route: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        """The answer's JSON when it is a success; None otherwise."""
        content = None if body is None else msgspec.json.encode(body)
        response = await persist(
            lambda: self.client.request(method, route, path, content=content), budget=BUDGET
        )
        if response is None or response.status_code >= 300:
            return None
        return response.json()
