"""The embedded demo: a shop in memory, a product, a customer, and one order placed."""

from __future__ import annotations

from apps.components import in_memory_shop
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
from shopcore.inventory.queries import availability
from shopcore.ordering.model import Order


def _money(value: Money) -> str:
    whole, cents = divmod(value.amount, 100)
    return f"{whole}.{cents:02d} {value.currency}"


async def place_demo_order() -> tuple[Order, int]:
    """Run the whole purchase flow in memory; returns the order and the stock left."""
    shop = in_memory_shop()
    await shop.handle(
        CreateProduct(
            name="Linen shirt",
            slug="linen-shirt",
            category="shirts",
            variants=(Variant(sku="SHIRT-M", price=Money(3900, "EUR"), attributes={"size": "M"}),),
        )
    )
    await shop.handle(ReceiveStock(sku="SHIRT-M", quantity=10))
    ada = await shop.handle(
        RegisterCustomer(email="ada@example.com", password="correct horse battery")
    )
    cart = (await shop.handle(CreateCart(customer_id=ada.id))).cart
    await shop.handle(
        AddCartItem(
            cart_id=cart.id, access=CartAccess(customer_id=ada.id), sku="SHIRT-M", quantity=2
        )
    )
    order: Order = await shop.handle(
        PlaceOrder(
            customer_id=ada.id,
            cart_id=cart.id,
            payment_token="tok_visa",
            shipping_address=Address(
                name="Ada", line1="1 Main St", city="Berlin", postal_code="10115", country="DE"
            ),
        )
    )
    left = await availability(shop.ports.stock_views, ["SHIRT-M"], shop.ports.clock.now())
    return order, left["SHIRT-M"]


def describe(order: Order, left: int) -> str:
    totals = order.totals
    lines = [
        f"order {order.id}: {order.status}",
        *(
            f"  {line.quantity} x {line.sku} ({line.name}) at {_money(line.unit_price)}"
            for line in order.lines
        ),
        f"  subtotal {_money(totals.subtotal)}, shipping {_money(totals.shipping)}, "
        f"tax {_money(totals.tax)}, total {_money(totals.total)}",
        f"stock of SHIRT-M still available: {left}",
    ]
    return "\n".join(lines)
