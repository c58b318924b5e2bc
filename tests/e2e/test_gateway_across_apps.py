"""One bank for every API process: with a database configured, the composition root keeps the
simulated gateway's books in it, so a payment authorized through one app (`shopcore serve
--workers 2`, or before a restart) is captured and refunded through another.

The apps are built as `shopcore serve` builds them, `Components(settings)` with no gateway
handed in; a side shop over the same database sets the scene.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.db.simulated_gateway import SqlSimulatedGateway
from adapters.http.services import ApiServices
from adapters.memory.hasher import FastInsecureHasher
from apps.api import build_app
from apps.components import Components
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, RegisterCustomer, Variant
from shopcore.customers.model import Customer
from tests.e2e.conftest import BACKENDS, database_url
from tests.support.api import PASSWORD, test_settings
from tests.support.storefront import checkout_body

SKU = "GW-A1"
PRICE = 2500


@pytest.fixture(params=BACKENDS)
async def side(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Components]:
    """Components over an empty database, holding one product with stock."""
    async with Components(
        test_settings(await database_url(request, tmp_path)), hasher=FastInsecureHasher()
    ) as components:
        await components.shop.handle(
            CreateProduct(
                name="Gateway tee",
                slug="gateway-tee",
                category="shirts",
                description="Sold through two API processes",
                variants=(Variant(sku=SKU, price=Money(PRICE, "EUR")),),
            )
        )
        await components.shop.handle(ReceiveStock(sku=SKU, quantity=5))
        yield components


def auth(app: Litestar, person: Customer) -> dict[str, str]:
    services: ApiServices = app.state["services"]
    return {"Authorization": f"Bearer {services.tokens.issue(person.id, person.role)}"}


async def ordered(app: Litestar, client: AsyncTestClient[Litestar], shopper: Customer) -> Any:
    """The order `shopper` placed through `app` for one unit of SKU: the gateway authorized it."""
    cart = await client.post("/v1/carts", headers=auth(app, shopper))
    cart_id = cart.json()["id"]
    added = await client.post(
        f"/v1/carts/{cart_id}/items", json={"sku": SKU, "quantity": 1}, headers=auth(app, shopper)
    )
    assert added.status_code == 200, added.text
    response = await client.post(
        "/v1/checkout",
        json=checkout_body(cart_id),
        headers={**auth(app, shopper), "Idempotency-Key": "gateway-checkout-1"},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_payment_authorized_through_one_app_is_captured_and_refunded_through_another(
    side: Components,
) -> None:
    shopper = await side.shop.handle(RegisterCustomer(email="ada@example.com", password=PASSWORD))
    staff = await side.shop.handle(EnsureStaff(email="boss@example.com", password=PASSWORD))
    one, two = build_app(Components(side.settings)), build_app(Components(side.settings))

    async with AsyncTestClient(one) as first, AsyncTestClient(two) as second:
        order = await ordered(one, first, shopper)
        shipped = await second.post(
            f"/v1/admin/orders/{order['id']}/ship", headers=auth(two, staff)
        )
        refunded = await first.post(
            f"/v1/admin/orders/{order['id']}/refunds",
            json={"amount": {"amount": 500, "currency": "EUR"}},
            headers={**auth(one, staff), "Idempotency-Key": "gateway-refund-1"},
        )

    assert shipped.status_code == 200, shipped.text  # the capture found the charge
    assert shipped.json()["status"] == "shipped"
    assert refunded.status_code == 201, refunded.text
    total = order["totals"]["total"]["amount"]
    [charge] = (await SqlSimulatedGateway(side.engine).charges()).values()
    assert (charge.amount, charge.captured, charge.refunded) == (Money(total, "EUR"), total, 500)
