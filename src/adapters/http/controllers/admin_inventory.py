"""Staff move stock: receipts of goods and corrections, each once per `Idempotency-Key`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter

from adapters.http.controllers.staff import (
    KEY_ERRORS,
    STAFF_ERRORS,
    IdempotencyKey,
    StaffController,
)
from adapters.http.idempotency import run_once
from adapters.http.problem_docs import problem
from adapters.http.schemas.admin import (
    ADJUSTMENT_EXAMPLE,
    RECEIPT_EXAMPLE,
    STOCK_EXAMPLE,
    StockAdjustmentIn,
    StockOut,
    StockReceiptIn,
)
from adapters.http.schemas.carts import SKU_PATTERN
from adapters.http.security import Principal
from adapters.http.services import ApiServices
from shopcore.catalog.queries import price_list
from shopcore.inventory.commands import AdjustStock, ReceiveStock
from shopcore.inventory.queries import stock_levels
from shopcore.shared.messages import Command

SkuPath = Annotated[str, PathParameter(pattern=SKU_PATTERN, description="a SKU in the catalog")]


def _stock(description: str, status: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            StockOut, description=description, generate_examples=False, examples=[STOCK_EXAMPLE]
        )
    }


NO_SKU = problem(404, "not-found", "No product in the catalog has this SKU", "no such SKU")
KEY_REQUIRED = problem(
    400,
    "idempotency-key-required",
    "The `Idempotency-Key` header is missing or malformed (or the body is invalid)",
    "send an Idempotency-Key header (any unique string up to 255 characters)",
)


async def _known(services: ApiServices, sku: str) -> None:
    """Stock is kept for catalog SKUs only (archived products' too): a typo is a 404, not a
    new stock row."""
    if sku not in await price_list(services.shop.uow(), [sku]):
        raise NotFoundException(f"no product in the catalog has SKU {sku}")


async def _level(services: ApiServices, sku: str) -> StockOut:
    now = services.shop.ports.clock.now()
    return StockOut.of(sku, await stock_levels(services.shop.ports.stock_views, [sku], now))


class AdminInventoryController(StaffController):
    path = "/v1/admin/inventory"
    tags = ("admin",)

    @get(
        "/{sku:str}",
        summary="Get a SKU's stock",
        description="On hand, reserved by checkouts in progress, allocated to paid orders, and "
        "available to sell, summed over every location.",
        responses={**_stock("The SKU's stock", 200), **STAFF_ERRORS, 404: NO_SKU},
    )
    async def level(self, services: NamedDependency[ApiServices], sku: SkuPath) -> StockOut:
        await _known(services, sku)
        return await _level(services, sku)

    @post(
        "/{sku:str}/receipts",
        summary="Receive stock",
        description="Goods arrived: `quantity` more units on hand. Needs an "
        "`Idempotency-Key`, so a retried receipt is not counted twice: the same key and body "
        "replay the first answer (`Idempotent-Replayed: true`).",
        status_code=201,
        responses={
            **_stock("The SKU's stock after the receipt", 201),
            **STAFF_ERRORS,
            **KEY_ERRORS,
            400: KEY_REQUIRED,
            404: NO_SKU,
        },
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        sku: SkuPath,
        data: Annotated[StockReceiptIn, Body(examples=[RECEIPT_EXAMPLE])],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[StockOut]:
        command = ReceiveStock(sku=sku, quantity=data.quantity, reason=data.reason)
        return await _once(request, services, principal, sku, idempotency_key, command)

    @post(
        "/{sku:str}/adjustments",
        summary="Adjust stock",
        description="A correction after a count, damage or loss: `delta` units on hand, up or "
        "down, with the reason kept in the ledger. Stock promised to checkouts and paid orders "
        "cannot be taken away (409 `insufficient-stock`). Needs an `Idempotency-Key`: the same "
        "key and body replay the first answer, another body with it is 422.",
        status_code=201,
        responses={
            **_stock("The SKU's stock after the adjustment", 201),
            **STAFF_ERRORS,
            **KEY_ERRORS,
            400: KEY_REQUIRED,
            404: NO_SKU,
            409: problem(
                409,
                "insufficient-stock",
                "The adjustment would take stock that is reserved or allocated (or the key is "
                "in use)",
                "SHIRT-M at main cannot go below what is promised",
            ),
            422: problem(
                422,
                "invalid-input",
                "`delta` is zero or the reason is empty (or the key was used for another request)",
            ),
        },
    )
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        sku: SkuPath,
        data: Annotated[StockAdjustmentIn, Body(examples=[ADJUSTMENT_EXAMPLE])],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[StockOut]:
        command = AdjustStock(sku=sku, delta=data.delta, reason=data.reason)
        return await _once(request, services, principal, sku, idempotency_key, command)


async def _once(
    request: Request[Any, Any, Any],
    services: ApiServices,
    staff: Principal,
    sku: str,
    key: str | None,
    command: Command[None],
) -> Response[Any]:
    await _known(services, sku)  # before the key is claimed: a 404 is not worth storing

    async def apply() -> Response[StockOut]:
        await services.shop.handle(command)
        return Response(await _level(services, sku), status_code=201)

    return await run_once(
        request,
        services.idempotency,
        owner=staff.customer_id,
        key=key,
        ttl=timedelta(hours=services.config.idempotency_hours),
        work=apply,
    )
