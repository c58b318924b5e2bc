from __future__ import annotations

import pytest

from shopcore import ArchiveProduct, CreateProduct, InvalidInput, Money, Variant
from shopcore.catalog.model import Product
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.queries import list_products
from shopcore.catalog.views import ProductView
from shopcore.shared.ids import new_id
from shopcore.shared.pagination import Page, encode_cursor
from tests.support.driver import ShopDriver


class Catalog:
    """Creates products whose ids rise with creation order, so "newest first" is exact
    (ids minted within one millisecond need not be in order)."""

    def __init__(self, driver: ShopDriver) -> None:
        self.driver = driver
        self._ids = iter(sorted(new_id() for _ in range(50)))
        self._n = 0

    async def add(
        self,
        *prices: int,
        category: str = "shirts",
        name: str | None = None,
        description: str = "",
    ) -> Product:
        self._n += 1
        product: Product = await self.driver.handle(
            CreateProduct(
                product_id=next(self._ids),
                name=name or f"Product {self._n}",
                slug=f"product-{self._n}",
                category=category,
                description=description,
                variants=tuple(
                    Variant(sku=f"P{self._n}-{i}", price=Money(price, "EUR"))
                    for i, price in enumerate(prices or (1000,))
                ),
            )
        )
        return product

    async def list(
        self, cursor: str | None = None, limit: int = 10, **filters: object
    ) -> Page[ProductView]:
        return await list_products(
            self.driver.shop.ports.catalog_views,
            ProductFilter(**filters),
            cursor=cursor,
            limit=limit,
        )

    async def names(self, **filters: object) -> list[str]:
        return [product.name for product in (await self.list(**filters)).items]


@pytest.fixture
def catalog(driver: ShopDriver) -> Catalog:
    return Catalog(driver)


async def test_products_are_listed_newest_first(catalog: Catalog) -> None:
    for name in ("old", "middle", "new"):
        await catalog.add(name=name)

    page = await catalog.list()

    assert [product.name for product in page.items] == ["new", "middle", "old"]
    assert page.next_cursor is None


async def test_an_empty_catalog_lists_nothing(catalog: Catalog) -> None:
    page = await catalog.list()

    assert list(page.items) == []
    assert page.next_cursor is None


async def test_cursors_walk_every_product_once_across_pages(catalog: Catalog) -> None:
    created = [await catalog.add() for _ in range(5)]
    seen: list[list[str]] = []
    cursor: str | None = None

    while True:
        page = await catalog.list(cursor=cursor, limit=2)
        seen.append([product.id for product in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    newest_first = [product.id for product in reversed(created)]
    assert seen == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


async def test_the_last_full_page_has_no_next_cursor(catalog: Catalog) -> None:
    for _ in range(4):
        await catalog.add()

    first = await catalog.list(limit=2)
    second = await catalog.list(cursor=first.next_cursor, limit=2)

    assert len(second.items) == 2
    assert second.next_cursor is None


async def test_a_product_added_while_paging_does_not_shift_later_pages(catalog: Catalog) -> None:
    created = [await catalog.add() for _ in range(4)]
    first = await catalog.list(limit=2)

    await catalog.add(name="latecomer")
    second = await catalog.list(cursor=first.next_cursor, limit=2)

    assert [p.id for p in second.items] == [created[1].id, created[0].id]


async def test_archived_products_are_left_out_unless_asked_for(
    catalog: Catalog, driver: ShopDriver
) -> None:
    await catalog.add(name="live")
    gone = await catalog.add(name="gone")
    await driver.handle(ArchiveProduct(product_id=gone.id))

    assert await catalog.names() == ["live"]
    assert await catalog.names(include_archived=True) == ["gone", "live"]


async def test_the_category_filter_keeps_only_that_category(catalog: Catalog) -> None:
    await catalog.add(name="tee", category="shirts")
    await catalog.add(name="cap", category="hats")
    await catalog.add(name="polo", category="shirts")

    assert await catalog.names(category="shirts") == ["polo", "tee"]
    assert await catalog.names(category="socks") == []


async def test_the_text_query_matches_name_or_description_ignoring_case(
    catalog: Catalog,
) -> None:
    await catalog.add(name="Linen Shirt", description="Cool in summer")
    await catalog.add(name="Wool Jumper", description="Warm, with LINEN trim")
    await catalog.add(name="Cotton Cap", description="Plain")

    assert await catalog.names(text="linen") == ["Wool Jumper", "Linen Shirt"]
    assert await catalog.names(text="SUMMER") == ["Linen Shirt"]
    assert await catalog.names(text="silk") == []


async def test_the_price_range_matches_products_with_any_variant_inside_it(
    catalog: Catalog,
) -> None:
    await catalog.add(500, name="cheap")
    await catalog.add(900, 3000, name="mixed")
    await catalog.add(5000, name="dear")

    assert await catalog.names(min_price=1000) == ["dear", "mixed"]
    assert await catalog.names(max_price=900) == ["mixed", "cheap"]
    assert await catalog.names(min_price=1000, max_price=4999) == ["mixed"]
    assert await catalog.names(min_price=5000, max_price=5000) == ["dear"]
    assert await catalog.names(min_price=1000, max_price=2999) == []


async def test_filters_combine_and_paginate_together(catalog: Catalog) -> None:
    for n in range(5):
        await catalog.add(1000 * (n + 1), category="shirts", name=f"shirt {n}")
        await catalog.add(1000 * (n + 1), category="hats", name=f"hat {n}")

    first = await catalog.list(limit=2, category="shirts", min_price=2000)
    second = await catalog.list(
        cursor=first.next_cursor, limit=2, category="shirts", min_price=2000
    )

    assert [p.name for p in first.items] == ["shirt 4", "shirt 3"]
    assert [p.name for p in second.items] == ["shirt 2", "shirt 1"]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"category": "Not A Slug"}, "category must be"),
        ({"text": ""}, "q must be"),
        ({"text": "x" * 101}, "q must be"),
        ({"text": "a\x00b"}, "q contains control characters"),
        ({"min_price": -1}, "price bounds"),
        ({"max_price": 10**12 + 1}, "price bounds"),
        ({"min_price": 2000, "max_price": 1000}, "min_price must not exceed max_price"),
    ],
)
async def test_invalid_filters_are_refused(
    catalog: Catalog, filters: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await catalog.list(**filters)


async def test_the_widest_price_bounds_are_accepted(catalog: Catalog) -> None:
    await catalog.add(1)

    assert len((await catalog.list(min_price=0, max_price=10**12)).items) == 1


@pytest.mark.parametrize("limit", [0, 101, -5])
async def test_a_limit_outside_one_to_a_hundred_is_refused(catalog: Catalog, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        await catalog.list(limit=limit)


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "a", encode_cursor("not-an-id"), encode_cursor(""), "Zm9v" * 60],
)
async def test_a_malformed_cursor_is_refused(catalog: Catalog, cursor: str) -> None:
    await catalog.add()

    with pytest.raises(InvalidInput, match="cursor is malformed") as raised:
        await catalog.list(cursor=cursor)

    assert raised.value.code == "invalid-input"
