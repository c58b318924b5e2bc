"""Who and what the run starts with: the catalog and its stock, the customers and a staff
member, written through the shop's own commands (the workers' relay publishes their events
like any other), and an access token for each.

One SKU is scarce (two units per shopper) so that checkouts also race for the last units
and some end 409 out-of-stock; the others never run out. Tokens are minted with the
deployment's signing key instead of logging in: logging in is not what the run tests, and
40 Argon2 checks would cost the 2-core machine seconds of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.http.security import TokenService
from adapters.memory.hasher import FastInsecureHasher
from apps.components import Components
from apps.settings import Settings
from shopcore import CreateProduct, EnsureStaff, Money, ReceiveStock, RegisterCustomer, Variant
from shopcore.customers.model import Role
from tests.faults.deployment import JWT_SECRET

PRICE = 1900  # minor units, EUR
PLENTY = 100_000
SCARCE_SKU = "FAULT-TEE-L"
SKUS = ("FAULT-TEE-S", "FAULT-TEE-M", SCARCE_SKU)
PASSWORD = "a long enough passphrase"


@dataclass(frozen=True)
class Cast:
    customers: list[tuple[str, str]]  # (customer id, access token)
    staff_token: str
    received: dict[str, int]  # units received per SKU


async def seed(database_url: str, shoppers: int) -> Cast:
    settings = Settings(database_url=database_url, jwt_secret=JWT_SECRET)
    tokens = TokenService(JWT_SECRET, issuer="shopcore", audience="shopcore-api", ttl_seconds=7200)
    received = dict.fromkeys(SKUS, PLENTY) | {SCARCE_SKU: 2 * shoppers}
    async with Components(settings, hasher=FastInsecureHasher()) as components:
        shop = components.shop
        await shop.handle(
            CreateProduct(
                name="Fault tee",
                slug="fault-tee",
                category="shirts",
                variants=tuple(Variant(sku=sku, price=Money(PRICE, "EUR")) for sku in SKUS),
            )
        )
        for sku, quantity in received.items():
            await shop.handle(ReceiveStock(sku=sku, quantity=quantity))
        customers = []
        for number in range(shoppers):
            customer = await shop.handle(
                RegisterCustomer(email=f"shopper{number}@example.com", password=PASSWORD)
            )
            customers.append((customer.id, tokens.issue(customer.id, Role.CUSTOMER)))
        staff = await shop.handle(EnsureStaff(email="staff@example.com", password=PASSWORD))
    return Cast(customers, tokens.issue(staff.id, Role.STAFF), received)
