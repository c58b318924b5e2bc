"""A test driver: an in-memory shop built by the real composition root, with test adapters
(manual clock, recording notifier, fast hasher, simulated gateway) and short verbs to set up
the situations tests need."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from adapters.memory.clock import ManualClock
from adapters.memory.hasher import FastInsecureHasher
from adapters.memory.notifier import RecordingNotifier
from adapters.memory.store import MemoryStore
from adapters.payments.simulated import SimulatedGateway
from apps.components import Components
from apps.settings import Settings
from shopcore import (
    AddCartItem,
    Address,
    CartAccess,
    CreateCart,
    CreateProduct,
    Money,
    PlaceOrder,
    ReceiveStock,
    RegisterCustomer,
    Variant,
)
from shopcore.bootstrap import Shop
from shopcore.cart.model import Cart
from shopcore.catalog.model import Product
from shopcore.customers.model import Customer
from shopcore.inventory.queries import availability
from shopcore.ordering.model import Order

ADDRESS = Address(
    name="Ada Lovelace", line1="1 Main Street", city="Berlin", postal_code="10115", country="DE"
)
PASSWORD = "a long enough passphrase"
_counter = itertools.count(1)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@dataclass
class ShopDriver:
    shop: Shop
    clock: ManualClock
    gateway: SimulatedGateway
    notifier: RecordingNotifier
    store: MemoryStore
    components: Components
    skus: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.components.aclose()

    async def handle(self, message: Any) -> Any:
        return await self.shop.handle(message)

    async def product(
        self, *skus: str, price: int = 1000, category: str = "shirts", name: str | None = None
    ) -> Product:
        n = next(_counter)
        product: Product = await self.handle(
            CreateProduct(
                name=name or f"Product {n}",
                slug=f"product-{n}",
                category=category,
                description="A test product",
                variants=tuple(Variant(sku=sku, price=eur(price)) for sku in skus),
            )
        )
        self.skus.extend(skus)
        return product

    async def receive(self, sku: str, quantity: int, location: str = "main") -> None:
        await self.handle(ReceiveStock(sku=sku, quantity=quantity, location=location))

    async def customer(self, email: str | None = None) -> Customer:
        n = next(_counter)
        customer: Customer = await self.handle(
            RegisterCustomer(email=email or f"customer{n}@example.com", password=PASSWORD)
        )
        return customer

    async def cart(self, customer: Customer, lines: dict[str, int]) -> Cart:
        opened = await self.handle(CreateCart(customer_id=customer.id))
        cart: Cart = opened.cart
        for sku, quantity in lines.items():
            cart = await self.handle(
                AddCartItem(
                    cart_id=cart.id,
                    access=CartAccess(customer_id=customer.id),
                    sku=sku,
                    quantity=quantity,
                )
            )
        return cart

    async def checkout(self, customer: Customer, cart: Cart, token: str = "tok_visa") -> Order:
        order: Order = await self.handle(
            PlaceOrder(
                customer_id=customer.id,
                cart_id=cart.id,
                shipping_address=ADDRESS,
                payment_token=token,
            )
        )
        return order

    async def buy(self, lines: dict[str, int], token: str = "tok_visa") -> Order:
        """A new customer checks out a new cart with `lines`."""
        customer = await self.customer()
        return await self.checkout(customer, await self.cart(customer, lines), token)

    async def available(self, sku: str) -> int:
        return (await availability(self.shop.ports.stock_views, [sku], self.clock.now()))[sku]


def build_driver(settings: Settings | None = None, **given: Any) -> ShopDriver:
    """The shop through the real composition root, with test adapters handed in (manual clock,
    simulated gateway, recording notifier, fast hasher); `given` swaps any of them, or others
    (`store=`, `discounts=`, `unit_of_work=`)."""
    clock = given.pop("clock", None) or ManualClock()
    gateway = given.pop("gateway", None) or SimulatedGateway()
    notifier = given.pop("notifier", None) or RecordingNotifier()
    hasher = given.pop("hasher", None) or FastInsecureHasher()
    components = Components(
        settings, clock=clock, gateway=gateway, notifier=notifier, hasher=hasher, **given
    )
    return ShopDriver(
        shop=components.shop,
        clock=clock,
        gateway=gateway,
        notifier=notifier,
        store=components.store,
        components=components,
    )
