"""Staff fulfil orders: list them by status, ship (which captures the payment), refund."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter, QueryParameter

from adapters.http.controllers.staff import (
    KEY_ERRORS,
    STAFF_ERRORS,
    IdempotencyKey,
    StaffController,
)
from adapters.http.idempotency import run_once
from adapters.http.problem_docs import problem
from adapters.http.schemas.admin import REFUND_EXAMPLE, RefundIn
from adapters.http.schemas.admin_orders import (
    STAFF_ORDER_EXAMPLE,
    STAFF_ORDER_PAGE_EXAMPLE,
    StaffOrderOut,
    StaffOrderPage,
)
from adapters.http.schemas.carts import ID_PATTERN
from adapters.http.schemas.common import Cursor, Limit
from adapters.http.security import Principal
from adapters.http.services import ApiServices
from shopcore.ordering.commands import RefundOrder, ShipOrder
from shopcore.ordering.model import OrderStatus
from shopcore.ordering.queries import get_order, list_orders

OrderIdPath = Annotated[str, PathParameter(pattern=ID_PATTERN, description="the order's id")]
StatusFilter = Annotated[
    OrderStatus | None, QueryParameter(description="only orders in this status")
]


def _order(description: str, status: int = 200) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            StaffOrderOut,
            description=description,
            generate_examples=False,
            examples=[STAFF_ORDER_EXAMPLE],
        )
    }


NO_ORDER = problem(404, "not-found", "No order with this id", "order 0193… not found")
DECLINED = problem(402, "payment-declined", "The payment gateway refused the capture or refund")
GATEWAY_DOWN = problem(
    503,
    "payment-gateway-unavailable",
    "The payment gateway failed; nothing changed, retry after `Retry-After` seconds",
)


class AdminOrdersController(StaffController):
    path = "/v1/admin/orders"
    tags = ("admin",)

    @get(
        summary="List orders",
        description="Every customer's orders, newest first, optionally only those in one "
        "`status`, in keyset pages: pass `next_cursor` back as `cursor` for the next page.",
        responses={
            200: ResponseSpec(
                StaffOrderPage,
                description="One page of orders",
                generate_examples=False,
                examples=[STAFF_ORDER_PAGE_EXAMPLE],
            ),
            **STAFF_ERRORS,
            422: problem(422, "invalid-input", "The cursor is malformed", "cursor is malformed"),
        },
    )
    async def list(
        self,
        services: NamedDependency[ApiServices],
        status: StatusFilter = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> StaffOrderPage:
        page = await list_orders(
            services.shop.uow(), customer_id=None, status=status, cursor=cursor, limit=limit
        )
        return StaffOrderPage(
            items=[StaffOrderOut.of_order(order) for order in page.items],
            next_cursor=page.next_cursor,
        )

    @get(
        "/{order_id:str}",
        summary="Get an order",
        description="Any customer's order, with its payment and refunds.",
        responses={**_order("The order"), **STAFF_ERRORS, 404: NO_ORDER},
    )
    async def detail(
        self, services: NamedDependency[ApiServices], order_id: OrderIdPath
    ) -> StaffOrderOut:
        order = await get_order(services.shop.uow(), order_id, None)
        if order is None:
            raise NotFoundException(f"order {order_id} not found")
        return StaffOrderOut.of_order(order)

    @post(
        "/{order_id:str}/ship",
        summary="Ship an order",
        description="A confirmed order leaves the warehouse: the payment is captured, the "
        "allocated stock goes, the customer is told. Only confirmed orders ship (409); a "
        "failed capture leaves the order confirmed (402, 503). Shipping twice is a 409.",
        status_code=200,
        responses={
            **_order("The shipped order"),
            **STAFF_ERRORS,
            402: DECLINED,
            404: NO_ORDER,
            409: problem(
                409,
                "illegal-transition",
                "The order is not confirmed (already shipped, cancelled, ...)",
            ),
            503: GATEWAY_DOWN,
        },
    )
    async def ship(
        self, services: NamedDependency[ApiServices], order_id: OrderIdPath
    ) -> StaffOrderOut:
        order = await services.shop.handle(ShipOrder(order_id=order_id))
        return StaffOrderOut.of_order(order)

    @post(
        "/{order_id:str}/refunds",
        summary="Refund an order",
        description="Give money back for a shipped order: at most what was captured and not "
        "yet refunded. The whole total makes the order `refunded`, less makes it "
        "`partially_refunded`. Needs an `Idempotency-Key`: the same key and body replay the "
        "first answer and never refund twice; another body with it is 422.",
        status_code=201,
        responses={
            **_order("The order with the refund booked", 201),
            **STAFF_ERRORS,
            **KEY_ERRORS,
            400: problem(
                400,
                "idempotency-key-required",
                "The `Idempotency-Key` header is missing or malformed (or the body is invalid)",
            ),
            402: DECLINED,
            404: NO_ORDER,
            409: problem(
                409,
                "illegal-transition",
                "The order was not shipped, so nothing was captured (or the key is in use)",
            ),
            422: problem(
                422,
                "invalid-input",
                "The amount is not positive, in another currency or more than is refundable "
                "(or the key was used for another request)",
                "a refund must be positive and at most 3351 EUR",
            ),
            503: GATEWAY_DOWN,
        },
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        order_id: OrderIdPath,
        data: Annotated[RefundIn, Body(examples=[REFUND_EXAMPLE])],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[StaffOrderOut]:
        async def refund() -> Response[StaffOrderOut]:
            # run_once never calls this without a key; the core dedups on it too.
            command = RefundOrder(
                order_id=order_id,
                amount=data.amount.to_money(),
                idempotency_key=str(idempotency_key),
            )
            order = await services.shop.handle(command)
            return Response(StaffOrderOut.of_order(order), status_code=201)

        return await run_once(
            request,
            services.idempotency,
            owner=principal.customer_id,
            key=idempotency_key,
            ttl=timedelta(hours=services.config.idempotency_hours),
            work=refund,
        )
