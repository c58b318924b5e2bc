"""An API under test: the real app from the composition root, on a real database, with test
adapters (fast hasher, simulated gateway) handed to `Components`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.http.app import ApiServices
from adapters.memory.hasher import FastInsecureHasher
from adapters.payments.simulated import SimulatedGateway
from apps.api import build_app
from apps.components import Components
from apps.settings import Settings
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, RegisterCustomer, Variant
from shopcore.bootstrap import Shop
from shopcore.catalog.model import Product
from shopcore.customers.model import Customer, Role

JWT_SECRET = "e2e-signing-key-" + "k" * 32
PASSWORD = "a long enough passphrase"
_numbers = itertools.count(1)


# What a Prometheus scraper sends to GET /metrics (`Authorization: Bearer ...`).
METRICS_TOKEN = "metrics-" + "m" * 24
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def test_settings(database_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        # Small: each xdist worker keeps an app and a side shop open on PostgreSQL, whose 100
        # client slots the race tests' processes need too.
        "database_pool_size": 3,
        "jwt_secret": JWT_SECRET,
        "webhook_secret": "whsec-" + "w" * 32,
        "metrics_token": METRICS_TOKEN,
        # Generous limits: the rate-limit tests set their own.
        "rate_limit_per_minute": 100_000,
        "auth_rate_limit_per_minute": 100_000,
        "checkout_rate_limit_per_minute": 100_000,
    }
    values.update(changes)
    if "settle_within_seconds" in changes and "gateway_timeout_seconds" not in changes:
        # As from_env demands: the gateway's bound shorter than the checkout's time.
        values["gateway_timeout_seconds"] = values["settle_within_seconds"] / 2
    return Settings(**values)


@dataclass
class Api:
    """`client` talks to the app; `shop` is a second shop over the same database and gateway
    for setting up and checking state (the app runs on the test client's own event loop, so
    the two must not share a connection pool)."""

    client: AsyncTestClient[Litestar]
    app: Litestar
    gateway: SimulatedGateway
    shop: Shop
    database_url: str = ""

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.app.state["services"]
        return services

    def token_for(self, customer: Customer) -> str:
        return self.services.tokens.issue(customer.id, customer.role)

    def auth(self, customer: Customer) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(customer)}"}

    async def customer(self, email: str | None = None) -> Customer:
        customer: Customer = await self.shop.handle(
            RegisterCustomer(
                email=email or f"shopper{next(_numbers)}@example.com", password=PASSWORD
            )
        )
        return customer

    async def staff(self) -> Customer:
        staff: Customer = await self.shop.handle(
            EnsureStaff(email=f"staff{next(_numbers)}@example.com", password=PASSWORD)
        )
        assert staff.role is Role.STAFF
        return staff

    async def product(self, *skus: str, price: int = 1000, stock: int = 10) -> Product:
        n = next(_numbers)
        product: Product = await self.shop.handle(
            CreateProduct(
                name=f"Product {n}",
                slug=f"product-{n}",
                category="shirts",
                description="A product for tests",
                variants=tuple(Variant(sku=sku, price=Money(price, "EUR")) for sku in skus),
            )
        )
        for sku in skus:
            if stock:
                await self.shop.handle(ReceiveStock(sku=sku, quantity=stock))
        return product


def api_app(settings: Settings) -> tuple[Litestar, SimulatedGateway, Components]:
    """The app, its gateway, and the components of a side shop over the same database and
    gateway (`await side.aclose()` when done; the app closes its own at shutdown)."""
    gateway = SimulatedGateway()
    app = build_app(Components(settings, gateway=gateway, hasher=FastInsecureHasher()))
    side = Components(settings, gateway=gateway, hasher=FastInsecureHasher())
    return app, gateway, side


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
