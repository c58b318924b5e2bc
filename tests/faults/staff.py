"""The staff member of the run: ships confirmed orders and refunds shipped ones while the
customers shop, so that captures and refunds meet the faults too.

About half the confirmed orders are shipped (the others stay confirmed: the gateway must still
hold their authorizations at the end), and a third of the shipped ones are refunded, in full
or in part. Shipping takes no key (a second ship is a 409); a refund does, retried with it.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import msgspec

from tests.faults.answers import Client
from tests.faults.retrying import persist

SHIP_SHARE = 0.5
REFUND_SHARE = 0.35
BUDGET = 30.0


class Staff:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._keys = itertools.count()

    async def fulfil(self, stop: asyncio.Event) -> None:
        rng = self.client.rng
        while not stop.is_set():
            confirmed = await self._orders("confirmed")
            if confirmed and rng.random() < SHIP_SHARE:
                await self._ship(rng.choice(confirmed))
            shipped = await self._orders("shipped")
            if shipped and rng.random() < REFUND_SHARE:
                await self._refund(rng.choice(shipped))
            await asyncio.sleep(rng.uniform(0.2, 0.6))

    async def _orders(self, status: str) -> list[dict[str, Any]]:
        response = await persist(
            lambda: self.client.request(
                "GET", "/v1/admin/orders", "/v1/admin/orders", params={"status": status}
            ),
            budget=BUDGET,
        )
        if response is None or response.status_code != 200:
            return []
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def _ship(self, order: dict[str, Any]) -> None:
        path = f"/v1/admin/orders/{order['id']}/ship"
        await persist(
            lambda: self.client.request("POST", "/v1/admin/orders/{id}/ship", path),
            budget=BUDGET,
        )

    async def _refund(self, order: dict[str, Any]) -> None:
        refundable = order["refundable"]
        whole = self.client.rng.random() < 0.5
        amount = refundable["amount"] if whole else max(1, refundable["amount"] // 3)
        body = msgspec.json.encode({"amount": {**refundable, "amount": amount}})
        key = f"refund-{next(self._keys)}"
        path = f"/v1/admin/orders/{order['id']}/refunds"
        await persist(
            lambda: self.client.request(
                "POST", "/v1/admin/orders/{id}/refunds", path, key=key, content=body
            ),
            budget=BUDGET,
        )
