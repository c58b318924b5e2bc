"""The storefront's catalog: listing and detail, served from the catalog cache.

Both answers carry an `ETag`; a request whose `If-None-Match` names the current one gets a 304
without a body. The cache (`ApiServices.catalog_reads`, chosen by the composition root) keeps
the encoded body, so a hit costs neither a query nor an encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from adapters.http.caching import NOT_MODIFIED, IfNoneMatch, conditional, encode
from adapters.http.schemas.admin import SLUG_PATTERN
from adapters.http.schemas.catalog import (
    PRODUCT_DETAIL_EXAMPLE,
    PRODUCT_PAGE_EXAMPLE,
    ProductOut,
    ProductPage,
)
from adapters.http.schemas.common import Cursor, Limit
from adapters.http.services import ApiServices
from adapters.machinery.cached_reads import CatalogRead
from shopcore.catalog.ports import ProductFilter
from shopcore.catalog.queries import list_products
from shopcore.storefront import product_page


def _listing_key(*parameters: object) -> str:
    digest = hashlib.blake2b(msgspec.json.encode(parameters), digest_size=16).hexdigest()
    return f"list:{digest}"


DEFAULT_LIMIT = 20
# A product's id (ids.py: letters, digits, hyphens) or its slug (lowercase words and hyphens).
ID_OR_SLUG_PATTERN = "^[0-9A-Za-z-]{1,100}$"
# Text without control characters (C0 or C1), as every text the shop keeps is
# (validation.text), and not blank: the core trims it and wants something left.
TEXT_QUERY_PATTERN = (
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
)
# The key of the first page with every filter left out, as `list` makes it (catalog_edge.py).
LISTING_DEFAULT_KEY = _listing_key(DEFAULT_LIMIT, None, None, None, None, None)


class CatalogController(Controller):
    path = "/v1/products"
    tags = ("catalog",)

    @get(
        summary="List products",
        description="Sellable products, newest first, in keyset pages: pass `next_cursor` "
        "back as `cursor` for the next page. Filters combine: category, a text query on name "
        "and description, and a price range (a product matches if any variant is in range). "
        "The answer carries an `ETag`; send it back as `If-None-Match` to get a 304 while the "
        "page is unchanged.",
        responses={
            200: ResponseSpec(
                ProductPage,
                description="One page of products",
                generate_examples=False,
                examples=[PRODUCT_PAGE_EXAMPLE],
            ),
            304: NOT_MODIFIED,
        },
    )
    async def list(
        self,
        services: NamedDependency[ApiServices],
        if_none_match: IfNoneMatch = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=100, pattern=TEXT_QUERY_PATTERN, description="text query"),
        ] = None,
        category: Annotated[
            str | None, QueryParameter(max_length=100, pattern=SLUG_PATTERN)
        ] = None,
        min_price: Annotated[int | None, QueryParameter(ge=0, le=10**12)] = None,
        max_price: Annotated[int | None, QueryParameter(ge=0, le=10**12)] = None,
    ) -> Response[bytes]:
        shop = services.shop

        async def load() -> CatalogRead:
            page = await list_products(
                shop.ports.catalog_views,
                ProductFilter(category=category, text=q, min_price=min_price, max_price=max_price),
                cursor=cursor,
                limit=limit,
            )
            body = ProductPage(
                items=[ProductOut.of(product) for product in page.items],
                next_cursor=page.next_cursor,
            )
            # Filed under `listing`: any product change drops every page.
            return CatalogRead(body=encode(body), listing=True)

        key = _listing_key(limit, cursor, q, category, min_price, max_price)
        return conditional(await services.catalog_reads.read(key, load), if_none_match)

    @get(
        "/{product_id:str}",
        summary="Get a product",
        description="One sellable product by id or slug, with each variant's price and the "
        "units available now. The answer carries an `ETag`; send it back as `If-None-Match` "
        "to get a 304 while neither the product nor its stock has changed.",
        responses={
            200: ResponseSpec(
                ProductOut,
                description="The product",
                generate_examples=False,
                examples=[PRODUCT_DETAIL_EXAMPLE],
            ),
            304: NOT_MODIFIED,
        },
    )
    async def detail(
        self,
        services: NamedDependency[ApiServices],
        product_id: Annotated[
            str,
            PathParameter(pattern=ID_OR_SLUG_PATTERN, description="the product's id or slug"),
        ],
        if_none_match: IfNoneMatch = None,
    ) -> Response[bytes]:
        read = await services.catalog_reads.read(
            detail_key(product_id), detail(services, product_id)
        )
        return conditional(read, if_none_match)


def detail_key(product_id: str) -> str:
    return f"detail:{product_id}"


def detail(services: ApiServices, product_id: str) -> Callable[[], Awaitable[CatalogRead]]:
    """How a product's page is loaded (404 when there is no such product): by the route, and
    by the edge for a product this process has not cached (catalog_edge.py)."""
    shop = services.shop

    async def load() -> CatalogRead:
        page = await product_page(shop.ports.product_pages, product_id, shop.ports.clock.now())
        if page is None:
            raise NotFoundException("no such product")
        product = page.product
        return CatalogRead(
            body=encode(ProductOut.of(product, page.available)),
            product_ids=(product.id,),
            skus=product.skus,
        )

    return load
