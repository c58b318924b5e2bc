"""Catalog use cases."""

from __future__ import annotations

from shopcore.application.bus import CommandTable, EventTable
from shopcore.catalog.commands import ArchiveProduct, CreateProduct, UpdateProduct
from shopcore.catalog.events import ProductArchived, ProductCreated, ProductUpdated
from shopcore.catalog.model import Product
from shopcore.catalog.ports import CatalogCache, CatalogUnitOfWork
from shopcore.shared.clock import Clock
from shopcore.shared.errors import AlreadyExists, NotFound


async def create_product(
    command: CreateProduct, uow: CatalogUnitOfWork, clock: Clock, currency: str
) -> Product:
    async with uow:
        product = Product.create(
            id=command.product_id,
            name=command.name,
            slug=command.slug,
            description=command.description,
            category=command.category,
            variants=command.variants,
            currency=currency,
            now=clock.now(),
        )
        if await uow.products.get_by_slug(product.slug) is not None:
            raise AlreadyExists(f"slug {product.slug!r} is taken")
        if taken := await uow.products.taken_skus(product.skus):
            raise AlreadyExists(f"SKUs already in the catalog: {', '.join(taken)}")
        await uow.products.add(product)
        await uow.commit()
        return product


async def update_product(
    command: UpdateProduct, uow: CatalogUnitOfWork, clock: Clock, currency: str
) -> Product:
    async with uow:
        product = await _get(uow, command.product_id)
        product.update(
            name=command.name,
            slug=command.slug,
            description=command.description,
            category=command.category,
            variants=command.variants,
            currency=currency,
            now=clock.now(),
        )
        owner = await uow.products.get_by_slug(product.slug)
        if owner is not None and owner.id != product.id:
            raise AlreadyExists(f"slug {product.slug!r} is taken")
        if taken := await uow.products.taken_skus(product.skus, excluding=product.id):
            raise AlreadyExists(f"SKUs already in the catalog: {', '.join(taken)}")
        await uow.commit()
        return product


async def archive_product(command: ArchiveProduct, uow: CatalogUnitOfWork, clock: Clock) -> Product:
    async with uow:
        product = await _get(uow, command.product_id)
        product.archive(clock.now())
        await uow.commit()
        return product


async def _get(uow: CatalogUnitOfWork, product_id: str) -> Product:
    product = await uow.products.get(product_id)
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product


async def invalidate_cached_product(
    event: ProductCreated | ProductUpdated | ProductArchived,
    uow: CatalogUnitOfWork,
    catalog_cache: CatalogCache,
) -> None:
    """A new, changed (names, prices) or archived product changes lists and its detail."""
    await catalog_cache.invalidate((event.product_id,), event.skus)


COMMAND_HANDLERS: CommandTable = {
    CreateProduct: create_product,
    UpdateProduct: update_product,
    ArchiveProduct: archive_product,
}
EVENT_HANDLERS: EventTable = {
    ProductCreated: [invalidate_cached_product],
    ProductUpdated: [invalidate_cached_product],
    ProductArchived: [invalidate_cached_product],
}
