"""The storefront's catalog: listing and detail."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from adapters.http.schemas.catalog import (
    PRODUCT_DETAIL_EXAMPLE,
    PRODUCT_PAGE_EXAMPLE,
    ProductOut,
    ProductPage,
)
from adapters.http.schemas.common import Cursor, Limit
from shopcore.bootstrap import Shop
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.queries import get_product, list_products
from shopcore.inventory.queries import availability


class CatalogController(Controller):
    path = "/v1/products"
    tags = ("catalog",)

    @get(
        summary="List products",
        description="Sellable products, newest first, in keyset pages: pass `next_cursor` "
        "back as `cursor` for the next page. Filters combine: category, a text query on name "
        "and description, and a price range (a product matches if any variant is in range).",
        responses={
            200: ResponseSpec(
                ProductPage,
                description="One page of products",
                generate_examples=False,
                examples=[PRODUCT_PAGE_EXAMPLE],
            )
        },
    )
    async def list(
        self,
        shop: NamedDependency[Shop],
        limit: Limit = 20,
        cursor: Cursor = None,
        q: Annotated[str | None, QueryParameter(max_length=100, description="text query")] = None,
        category: Annotated[str | None, QueryParameter(max_length=100)] = None,
        min_price: Annotated[int | None, QueryParameter(ge=0, le=10**12)] = None,
        max_price: Annotated[int | None, QueryParameter(ge=0, le=10**12)] = None,
    ) -> ProductPage:
        page = await list_products(
            shop.uow(),
            ProductFilter(category=category, text=q, min_price=min_price, max_price=max_price),
            cursor=cursor,
            limit=limit,
        )
        return ProductPage(
            items=[ProductOut.of(product) for product in page.items],
            next_cursor=page.next_cursor,
        )

    @get(
        "/{product_id:str}",
        summary="Get a product",
        description="One sellable product by id or slug, with each variant's price and the "
        "units available now.",
        responses={
            200: ResponseSpec(
                ProductOut,
                description="The product",
                generate_examples=False,
                examples=[PRODUCT_DETAIL_EXAMPLE],
            )
        },
    )
    async def detail(
        self,
        shop: NamedDependency[Shop],
        product_id: Annotated[str, PathParameter(max_length=200)],
    ) -> ProductOut:
        product = await get_product(shop.uow(), product_id)
        if product is None:
            raise NotFoundException("no such product")
        skus = [variant.sku for variant in product.variants]
        available = await availability(shop.uow(), skus, shop.ports.clock.now())
        return ProductOut.of(product, available)
