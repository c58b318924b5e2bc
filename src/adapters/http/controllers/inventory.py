"""Stock as shoppers see it: how many units of a SKU can be bought now."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import PathParameter

from adapters.http.problem_docs import INVALID_REQUEST, problem
from adapters.http.schemas.carts import SKU_PATTERN
from shopcore.bootstrap import Shop
from shopcore.catalog.queries import price_list
from shopcore.inventory.queries import availability


class AvailabilityOut(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    available: int  # over every location, less what is reserved and allocated


class InventoryController(Controller):
    path = "/v1/inventory"
    tags = ("inventory",)

    @get(
        "/{sku:str}",
        summary="Units available of a SKU",
        description="How many units of a SKU can be bought right now, over every stock "
        "location, less what checkouts have reserved. A SKU the catalog does not sell "
        "(unknown or archived) is 404.",
        responses={
            200: ResponseSpec(
                AvailabilityOut,
                description="The units available now",
                generate_examples=False,
                examples=[Example(value={"sku": "TSHIRT-BLUE-M", "available": 7})],
            ),
            400: INVALID_REQUEST,
            404: problem(404, "not-found", "The catalog sells no such SKU"),
        },
    )
    async def available(
        self,
        shop: NamedDependency[Shop],
        sku: Annotated[str, PathParameter(pattern=SKU_PATTERN, description="the SKU")],
    ) -> AvailabilityOut:
        known = (await price_list(shop.uow(), [sku])).get(sku)
        if known is None or not known.sellable:
            raise NotFoundException(f"the catalog sells no SKU {sku}")
        levels = await availability(shop.uow(), [sku], shop.ports.clock.now())
        return AvailabilityOut(sku=sku, available=levels[sku])
