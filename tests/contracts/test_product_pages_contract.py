"""What every product page read (`ProductPages`) must do: the product exactly as
`CatalogViews.product` finds it, with each variant's units available exactly as the stock read
side (`StockViews`) counts them: over every location, holds that lapsed by `now` left out, a SKU
never stocked at 0. The SQL adapter reads it all in one statement; these cases hold it to the
composed answer of the two read ports."""

from __future__ import annotations

from adapters.machinery.product_pages import ComposedProductPages
from adapters.memory.clock import ManualClock
from shopcore.catalog.model import ProductStatus
from shopcore.inventory.queries import availability
from shopcore.storefront import ProductPage, product_page
from tests.contracts import builders as b
from tests.contracts.backends import Backend
from tests.contracts.builders import add_all, write
from tests.contracts.ledger_steps import allocated_reservation, receive, reserve


async def composed(backend: Backend, key: str, clock: ManualClock) -> ProductPage | None:
    return await ComposedProductPages(backend.catalog_views(), backend.stock_views()).page(
        key, clock.now()
    )


async def test_a_page_counts_every_location_and_leaves_out_lapsed_holds(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["PP-S", "PP-M", "PP-L"])
    await add_all(backend, product, b.product())
    now = clock.now()
    await receive(backend, "PP-S", 10, now)
    await receive(backend, "PP-S", 4, now, "berlin")
    await receive(backend, "PP-M", 6, now)
    await reserve(backend, b.reservation([("PP-S", 3), ("PP-M", 1)], now=now), now)
    await reserve(backend, b.reservation([("PP-S", 2, "berlin")], now=now), now)
    await allocated_reservation(backend, clock, [("PP-M", 2)])
    pages = backend.product_pages()

    held = await pages.page(product.id, now)
    lapsed = await pages.page(product.slug, now + b.HOLD * 2)

    assert held is not None and lapsed is not None
    assert held.product == lapsed.product == (await backend.catalog_views().product(product.id))
    # PP-L was never stocked; PP-M's allocated units stay taken after the holds lapse.
    assert dict(held.available) == {"PP-S": 9, "PP-M": 3, "PP-L": 0}
    assert dict(lapsed.available) == {"PP-S": 14, "PP-M": 4, "PP-L": 0}
    assert held == await composed(backend, product.id, clock)
    views = backend.stock_views()
    assert dict(held.available) == await availability(views, product.skus, now)


async def test_a_hold_released_or_swept_counts_as_available(
    backend: Backend, clock: ManualClock
) -> None:
    product = b.product(skus=["PQ-S"])
    await add_all(backend, product)
    now = clock.now()
    await receive(backend, "PQ-S", 5, now)
    held = await reserve(backend, b.reservation([("PQ-S", 2)], now=now), now)
    await write(backend, lambda uow: uow.stock.release(held.id, now))
    swept = await reserve(backend, b.reservation([("PQ-S", 3)], now=now), now)
    later = now + b.HOLD * 2
    await write(backend, lambda uow: uow.stock.expire(later, 10))

    page = await backend.product_pages().page(product.id, later)

    assert page is not None and dict(page.available) == {"PQ-S": 5}, swept.id


async def test_no_page_for_an_unknown_product_and_none_shown_for_an_archived_one(
    backend: Backend, clock: ManualClock
) -> None:
    archived = b.product(skus=["PR-S"])
    archived.archive(clock.now())
    assert archived.status is ProductStatus.ARCHIVED
    await add_all(backend, archived)
    pages = backend.product_pages()

    assert await pages.page("no-such-product", clock.now()) is None
    found = await pages.page(archived.id, clock.now())
    assert found is not None and found.product.status is ProductStatus.ARCHIVED
    assert await product_page(pages, archived.id, clock.now()) is None


async def test_the_id_wins_over_a_slug_that_looks_like_it(
    backend: Backend, clock: ManualClock
) -> None:
    first = b.product(skus=["PS-1"])
    second = b.product(skus=["PS-2"], slug=first.id)
    third = b.product(skus=["PS-3"], slug="plain-tee")
    await add_all(backend, first, second, third)
    await receive(backend, "PS-2", 7, clock.now())
    await receive(backend, "PS-3", 2, clock.now())
    pages = backend.product_pages()

    by_id = await pages.page(first.id, clock.now())
    by_slug = await pages.page("plain-tee", clock.now())

    assert by_id is not None and by_id.product.id == first.id
    assert dict(by_id.available) == {"PS-1": 0}  # not the slug's product, nor its stock
    assert by_slug is not None and by_slug.product.id == third.id
    assert dict(by_slug.available) == {"PS-3": 2}
