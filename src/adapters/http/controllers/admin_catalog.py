"""Staff manage the catalog: create, change and archive products."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter

from adapters.http.controllers.staff import STAFF_ERRORS, StaffController
from adapters.http.problem_docs import INVALID_INPUT, problem
from adapters.http.schemas.admin import (
    PRODUCT_IN_EXAMPLE,
    PRODUCT_PATCH_EXAMPLE,
    ProductIn,
    ProductPatch,
    variants_of,
)
from adapters.http.schemas.carts import ID_PATTERN
from adapters.http.schemas.catalog import PRODUCT_EXAMPLE, ProductOut
from adapters.http.services import ApiServices
from shopcore.catalog.commands import ArchiveProduct, CreateProduct, UpdateProduct

ProductIdPath = Annotated[str, PathParameter(pattern=ID_PATTERN, description="the product's id")]


def _product(description: str, status: int = 200) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            ProductOut,
            description=description,
            generate_examples=False,
            examples=[PRODUCT_EXAMPLE],
        )
    }


NO_PRODUCT = problem(404, "not-found", "No product with this id", "product 0193… not found")
TAKEN = problem(
    409, "already-exists", "The slug or a SKU belongs to another product", "slug 'x' is taken"
)


class AdminCatalogController(StaffController):
    path = "/v1/admin/products"
    tags = ("admin",)

    @post(
        summary="Create a product",
        description="A new, active product with one or more variants (one SKU each, priced in "
        "the shop's currency). Answers the product with its new `id`; its stock starts at "
        "zero (see the inventory receipts).",
        status_code=201,
        responses={
            **_product("The new product", 201),
            **STAFF_ERRORS,
            409: TAKEN,
            422: INVALID_INPUT,
        },
    )
    async def create(
        self,
        services: NamedDependency[ApiServices],
        data: Annotated[ProductIn, Body(examples=[PRODUCT_IN_EXAMPLE])],
    ) -> Response[ProductOut]:
        product = await services.shop.handle(
            CreateProduct(
                name=data.name,
                slug=data.slug,
                category=data.category,
                description=data.description,
                variants=variants_of(data.variants),
            )
        )
        return Response(
            ProductOut.of(product),
            status_code=201,
            headers={"Location": f"/v1/products/{product.id}"},
        )

    @patch(
        "/{product_id:str}",
        summary="Change a product",
        description="Change any of name, slug, category, description and variants; fields "
        "left out keep their value. `variants` replaces the whole list, which is how prices "
        "change. An archived product cannot be changed (409).",
        responses={
            **_product("The changed product"),
            **STAFF_ERRORS,
            404: NO_PRODUCT,
            409: TAKEN,
            422: INVALID_INPUT,
        },
    )
    async def change(
        self,
        services: NamedDependency[ApiServices],
        product_id: ProductIdPath,
        data: Annotated[ProductPatch, Body(examples=[PRODUCT_PATCH_EXAMPLE])],
    ) -> ProductOut:
        product = await services.shop.handle(
            UpdateProduct(
                product_id=product_id,
                name=data.name,
                slug=data.slug,
                category=data.category,
                description=data.description,
                variants=None if data.variants is None else variants_of(data.variants),
            )
        )
        return ProductOut.of(product)

    @delete(
        "/{product_id:str}",
        summary="Archive a product",
        description="The product leaves the storefront and carts can no longer add it; "
        "orders that hold it are unaffected. Archiving an archived product changes nothing.",
        status_code=204,
        responses={**STAFF_ERRORS, 404: NO_PRODUCT},
    )
    async def archive(
        self, services: NamedDependency[ApiServices], product_id: ProductIdPath
    ) -> None:
        await services.shop.handle(ArchiveProduct(product_id=product_id))
