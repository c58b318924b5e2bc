"""What every catalog read side (`CatalogViews`) must do: show a product exactly as the units
of work committed it, found by id or by slug, and page the catalogue newest id first in keyset
pages (`before`, `limit`), filtered by category, by text in the name or description, by the
price of any variant, and with archived products only when asked."""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from shopcore.bootstrap import ShopUnitOfWork
from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.views import ProductView
from shopcore.shared.ids import new_id
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, eur, write


# -- one product ---------------------------------------------------------------------------
async def test_a_product_shows_exactly_as_written_by_id_and_by_slug(backend: Backend) -> None:
    product = Product.create(
        id=new_id(),
        name="Ünïcode Tee — “limited”",
        slug="unicode-tee",
        description="Line one\nLine two\twith a tab; 100 % cotton",
        category="shirts",
        variants=(
            Variant(sku="TEE-S", price=eur(1999), attributes={"size": "S", "Farbe": "Grün"}),
            Variant(sku="TEE-M", price=eur(2099), attributes={"size": "M"}),
            Variant(sku="TEE-L", price=eur(100_000_000)),
        ),
        currency=b.CURRENCY,
        now=b.START,
    )
    await add_all(backend, product, b.product())
    views = backend.catalog_views()

    by_id = await views.product(product.id)
    by_slug = await views.product("unicode-tee")

    assert by_id == by_slug == ProductView.of(product)
    assert by_id is not None
    assert by_id.skus == ("TEE-S", "TEE-M", "TEE-L")  # variant order is kept
    assert by_id.created_at == b.START  # microseconds and all
    assert by_id.created_at.utcoffset() is not None


async def test_an_unknown_id_or_slug_shows_nothing(backend: Backend) -> None:
    await add_all(backend, b.product())
    views = backend.catalog_views()

    assert await views.product(new_id()) is None
    assert await views.product("no-such-product") is None


async def test_an_archived_product_still_shows_as_archived(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product()
    product.archive(clock.advance(days=1))
    await add_all(backend, product)

    shown = await backend.catalog_views().product(product.slug)

    assert shown == ProductView.of(product)
    assert shown is not None and shown.status is ProductStatus.ARCHIVED


async def test_an_id_wins_over_a_slug_that_spells_it(backend: Backend) -> None:
    first = b.product()
    second = b.product(slug=first.id)  # an id is a valid slug too
    await add_all(backend, first, second)
    views = backend.catalog_views()

    assert await views.product(first.id) == ProductView.of(first)
    assert await views.product(second.id) == ProductView.of(second)


async def test_a_committed_change_shows_at_once(backend: Backend, clock: ManualClock) -> None:
    product = b.product(skus=["MUG-1", "MUG-2"], prices=[900, 1100])
    await add_all(backend, product)
    views = backend.catalog_views()
    assert await views.product(product.id) == ProductView.of(product)

    async def change(uow: ShopUnitOfWork) -> Product:
        loaded = await uow.products.get(product.id)
        assert loaded is not None
        loaded.update(
            name="Mug, large",
            slug="mug-large",
            variants=(
                Variant(sku="MUG-3", price=eur(1500)),
                Variant(sku="MUG-2", price=eur(1250), attributes={"volume": "500 ml"}),
            ),
            currency=b.CURRENCY,
            now=clock.advance(hours=2),
        )
        return loaded

    changed = await write(backend, change)

    assert await views.product(product.id) == ProductView.of(changed)
    assert await views.product("mug-large") == ProductView.of(changed)
    assert await views.product(product.slug) is None
    found = await views.page(ProductFilter(), before=None, limit=10)
    assert list(found) == [ProductView.of(changed)]


async def test_what_a_unit_of_work_has_not_committed_does_not_show(backend: Backend) -> None:
    product = b.product()
    views = backend.catalog_views()

    async with backend.uow() as uow:
        await uow.products.add(product)
        assert await views.product(product.id) is None
        assert list(await views.page(ProductFilter(), before=None, limit=10)) == []


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
    found = await backend.catalog_views().page(filters, before=before, limit=limit)
    return [product.name for product in found]


async def test_page_lists_sellable_products_newest_first_with_all_their_variants(
    backend: Backend, clock: ManualClock
) -> None:
    products = await catalog(backend, clock)

    found = await backend.catalog_views().page(ProductFilter(), before=None, limit=100)

    expected = [
        ProductView.of(products[key])
        for key in ("hoodie", "snake", "sale", "apples", "mug", "polo", "tee")
    ]
    assert list(found) == expected


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


async def test_the_limit_counts_products_not_variants(backend: Backend) -> None:
    many = [b.product(id=id, prices=[100, 200, 300]) for id in b.ascending_ids(3)]
    await add_all(backend, *many)

    found = await backend.catalog_views().page(ProductFilter(), before=None, limit=2)

    assert list(found) == [ProductView.of(many[2]), ProductView.of(many[1])]


async def test_page_returns_only_ids_below_before(backend: Backend, clock: ManualClock) -> None:
    products = await catalog(backend, clock)

    names = await page_names(backend, ProductFilter(), before=products["sale"].id)

    assert names == ["Äpfel-Druck", "Mug", "Polo", "Classic Tee"]


async def test_walking_pages_by_keyset_visits_every_match_once(
    backend: Backend, clock: ManualClock
) -> None:
    await catalog(backend, clock)
    seen: list[ProductView] = []
    before: str | None = None
    while True:
        found = await backend.catalog_views().page(
            ProductFilter(include_archived=True), before=before, limit=3
        )
        seen.extend(found)
        if len(found) < 3:
            break
        before = found[-1].id

    ids = [product.id for product in seen]
    assert len(ids) == 8
    assert ids == sorted(ids, reverse=True)


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
