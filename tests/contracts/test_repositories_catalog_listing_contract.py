"""How every product repository pages the catalogue: newest id first, keyset pages
(`before`, `limit`), filtered by category, by text in the name or description, by the price
of any variant, and with archived products only when asked."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.catalog.model import Product
from shopcore.catalog.ports import ProductFilter
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, ids_of, read


# -- products: listing ---------------------------------------------------------------------
async def catalog(backend: Backend, clock: ManualClock) -> dict[str, Product]:
    """Eight products whose ids ascend in the order listed."""
    ids = b.ascending_ids(8)
    products = {
        "tee": b.product(id=ids[0], name="Classic Tee", category="shirts", prices=[1500]),
        "polo": b.product(
            id=ids[1],
            name="Polo",
            description="A classic collar",
            category="shirts",
            prices=[2500, 4500],
        ),
        "mug": b.product(id=ids[2], name="Mug", category="kitchen", prices=[900]),
        "apples": b.product(
            id=ids[3],
            name="Äpfel-Druck",
            description="Poster",
            category="posters",
            prices=[3000],
        ),
        "sale": b.product(
            id=ids[4],
            name="50% off sticker",
            description="Cheap",
            category="stickers",
            prices=[100],
        ),
        "snake": b.product(
            id=ids[5],
            name="snake_case mug",
            category="kitchen",
            prices=[1200],
        ),
        "retired": b.product(id=ids[6], name="Classic Cap", category="shirts", prices=[1500]),
        "hoodie": b.product(id=ids[7], name="Hoodie", category="shirts", prices=[5000, 6000]),
    }
    products["retired"].archive(clock.now())
    await add_all(backend, *products.values())
    return products


async def page_names(
    backend: Backend, filters: ProductFilter, *, before: str | None = None, limit: int = 100
) -> list[str]:
    found = await read(backend, lambda uow: uow.products.page(filters, before=before, limit=limit))
    return [product.name for product in found]


async def test_page_lists_sellable_products_newest_first(
    backend: Backend, clock: ManualClock
) -> None:
    products = await catalog(backend, clock)

    found = await read(
        backend, lambda uow: uow.products.page(ProductFilter(), before=None, limit=100)
    )

    expected = [
        products[key] for key in ("hoodie", "snake", "sale", "apples", "mug", "polo", "tee")
    ]
    assert found == expected
    assert all(product.events == [] for product in found)


async def test_page_includes_archived_products_only_when_asked(
    backend: Backend, clock: ManualClock
) -> None:
    await catalog(backend, clock)

    names = await page_names(backend, ProductFilter(category="shirts", include_archived=True))

    assert names == ["Hoodie", "Classic Cap", "Polo", "Classic Tee"]


async def test_page_filters_by_category(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(category="kitchen")) == ["snake_case mug", "Mug"]
    assert await page_names(backend, ProductFilter(category="garden")) == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("classic", ["Polo", "Classic Tee"]),  # in the description, or the name
        ("CLASSIC TEE", ["Classic Tee"]),
        ("mug", ["snake_case mug", "Mug"]),
        ("äpfel", ["Äpfel-Druck"]),
        ("ÄPFEL", ["Äpfel-Druck"]),
        ("50%", ["50% off sticker"]),  # wildcards of LIKE are plain characters here
        ("%", ["50% off sticker"]),
        ("e_c", ["snake_case mug"]),
        ("_", ["snake_case mug"]),
        ("poster", ["Äpfel-Druck"]),
        ("nothing like it", []),
    ],
)
async def test_page_matches_text_case_insensitively_in_name_or_description(
    backend: Backend, clock: ManualClock, text: str, names: list[str]
) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(text=text)) == names


@pytest.mark.parametrize(
    ("low", "high", "names"),
    [
        (1500, None, ["Hoodie", "Äpfel-Druck", "Polo", "Classic Tee"]),
        (None, 1200, ["snake_case mug", "50% off sticker", "Mug"]),
        (1200, 1500, ["snake_case mug", "Classic Tee"]),  # both bounds inclusive
        (4000, 4600, ["Polo"]),  # any variant in range is enough
        (5500, 5900, []),  # no single variant in range, though they straddle it
        (6001, None, []),
    ],
)
async def test_page_filters_by_price_range_of_any_variant(
    backend: Backend, clock: ManualClock, low: int | None, high: int | None, names: list[str]
) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(min_price=low, max_price=high)) == names


async def test_page_combines_every_filter(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    names = await page_names(
        backend,
        ProductFilter(
            category="shirts",
            text="classic",
            min_price=1000,
            max_price=2000,
            include_archived=True,
        ),
    )

    assert names == ["Classic Cap", "Classic Tee"]


async def test_page_stops_at_the_limit(backend: Backend, clock: ManualClock) -> None:
    await catalog(backend, clock)

    assert await page_names(backend, ProductFilter(), limit=2) == ["Hoodie", "snake_case mug"]
    assert await page_names(backend, ProductFilter(), limit=1) == ["Hoodie"]


async def test_page_returns_only_ids_below_before(backend: Backend, clock: ManualClock) -> None:
    products = await catalog(backend, clock)

    names = await page_names(backend, ProductFilter(), before=products["sale"].id)

    assert names == ["Äpfel-Druck", "Mug", "Polo", "Classic Tee"]


async def test_walking_pages_by_keyset_visits_every_match_once(
    backend: Backend, clock: ManualClock
) -> None:
    await catalog(backend, clock)
    seen: list[Product] = []
    before: str | None = None
    while True:
        found = await read(
            backend,
            lambda uow, cursor=before: uow.products.page(
                ProductFilter(include_archived=True), before=cursor, limit=3
            ),
        )
        seen.extend(found)
        if len(found) < 3:
            break
        before = found[-1].id

    assert len(seen) == 8
    assert ids_of(seen) == sorted(ids_of(seen), reverse=True)


async def test_page_before_an_id_of_no_product_is_still_a_bound(
    backend: Backend, clock: ManualClock
) -> None:
    products = await catalog(backend, clock)
    between = products["mug"].id[:-1] + chr(ord(products["mug"].id[-1]) + 1)
    assert products["mug"].id < between < products["apples"].id

    assert await page_names(backend, ProductFilter(), before=between) == [
        "Mug",
        "Polo",
        "Classic Tee",
    ]
