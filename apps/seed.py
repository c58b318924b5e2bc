"""A small demo catalog for the embedded shop, so `make run` has something to sell."""

from __future__ import annotations

from shopcore import CreateProduct, Money, ReceiveStock, Variant
from shopcore.bootstrap import Shop
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.queries import list_products

DEMO: tuple[tuple[str, str, str, str, tuple[tuple[str, int, dict[str, str], int], ...]], ...] = (
    (
        "Linen shirt",
        "linen-shirt",
        "shirts",
        "Breathable linen, relaxed fit.",
        (
            ("SHIRT-LINEN-S", 3900, {"size": "S"}, 20),
            ("SHIRT-LINEN-M", 3900, {"size": "M"}, 25),
            ("SHIRT-LINEN-L", 3900, {"size": "L"}, 15),
        ),
    ),
    (
        "Merino beanie",
        "merino-beanie",
        "accessories",
        "Warm, soft and itch-free.",
        (("BEANIE-GREY", 2400, {"colour": "grey"}, 40),),
    ),
    (
        "Canvas tote",
        "canvas-tote",
        "bags",
        "Heavy cotton canvas with an inner pocket.",
        (("TOTE-NATURAL", 1800, {"colour": "natural"}, 60),),
    ),
)


async def seed_demo_catalog(shop: Shop) -> bool:
    """Create the demo products and their stock unless the catalog already has products."""
    page = await list_products(
        shop.ports.catalog_views, ProductFilter(include_archived=True), cursor=None, limit=1
    )
    if page.items:
        return False
    currency = shop.ports.currency
    for name, slug, category, description, variants in DEMO:
        await shop.handle(
            CreateProduct(
                name=name,
                slug=slug,
                category=category,
                description=description,
                variants=tuple(
                    Variant(sku=sku, price=Money(price, currency), attributes=attributes)
                    for sku, price, attributes, _ in variants
                ),
            )
        )
        for sku, _, _, units in variants:
            await shop.handle(ReceiveStock(sku=sku, quantity=units, reason="demo stock"))
    return True
