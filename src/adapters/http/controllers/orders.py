"""A customer's own orders: the list, one order, and cancelling before it ships.

Another customer's order answers 404, exactly like an order that does not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter

from adapters.http.idempotency import HEADER, run_once
from adapters.http.problem_docs import INVALID_REQUEST, UNAUTHORIZED, problem
from adapters.http.schemas.common import Cursor, Limit
from adapters.http.schemas.orders import (
    ORDER_EXAMPLE,
    ORDER_SAMPLE,
    OrderIdPath,
    OrderOut,
    OrderPage,
)
from adapters.http.security import Principal, required_principal
from adapters.http.services import ApiServices
from shopcore.ordering.commands import CancelOrder
from shopcore.ordering.queries import get_order, list_orders

NO_ORDER = problem(404, "not-found", "No such order, or not the caller's")
THE_ORDER = ResponseSpec(
    OrderOut, description="The order", generate_examples=False, examples=[ORDER_EXAMPLE]
)
A_PAGE = ResponseSpec(
    OrderPage,
    description="A page of the caller's orders, newest first",
    generate_examples=False,
    examples=[
        Example(
            summary="The last page",
            value={"items": [ORDER_SAMPLE], "next_cursor": None},
        )
    ],
)
OptionalIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        max_length=255,
        description="optional: resending the same key replays the first answer",
    ),
]


# Who is asking: resolved from the bearer token for every route of the controller.
CALLER = {"principal": Provide(required_principal)}


class OrdersController(Controller):
    path = "/v1/orders"
    tags = ("orders",)
    dependencies = CALLER
    security = ({"BearerToken": []},)

    @get(
        summary="List my orders",
        description="The caller's orders, newest first, in keyset pages: pass `next_cursor` "
        "back as `cursor` for the next page; it is null on the last page.",
        responses={200: A_PAGE, 400: INVALID_REQUEST, 401: UNAUTHORIZED},
    )
    async def list(
        self,
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> OrderPage:
        page = await list_orders(
            services.shop.uow(), customer_id=principal.customer_id, cursor=cursor, limit=limit
        )
        return OrderPage(
            items=[OrderOut.of(order) for order in page.items], next_cursor=page.next_cursor
        )

    @get(
        "/{order_id:str}",
        summary="Get one of my orders",
        description="Lines, totals, shipping address, status and its history.",
        responses={200: THE_ORDER, 400: INVALID_REQUEST, 401: UNAUTHORIZED, 404: NO_ORDER},
    )
    async def detail(
        self,
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        order_id: OrderIdPath,
    ) -> OrderOut:
        order = await get_order(services.shop.uow(), order_id, principal.customer_id)
        if order is None:
            raise NotFoundException(f"order {order_id} not found")
        return OrderOut.of(order)

    @post(
        "/{order_id:str}/cancel",
        status_code=200,
        summary="Cancel one of my orders",
        description="Before it ships: the stock goes back and the card authorization is "
        "voided. A shipped, delivered or already cancelled order answers 409. An optional "
        "`Idempotency-Key` makes a retried cancel replay the first answer.",
        response_headers=[
            ResponseHeader(
                name="Idempotent-Replayed",
                description="`true` when this is the stored answer of an earlier request",
                documentation_only=True,
            )
        ],
        responses={
            200: ResponseSpec(
                OrderOut,
                description="The cancelled order",
                generate_examples=False,
                examples=[
                    Example(
                        summary="Cancelled before shipping",
                        value={**ORDER_SAMPLE, "status": "cancelled"},
                    )
                ],
            ),
            400: INVALID_REQUEST,
            401: UNAUTHORIZED,
            404: NO_ORDER,
            409: problem(
                409,
                "illegal-transition",
                "The order cannot be cancelled any more (shipped, delivered or cancelled), "
                "or the key is in use",
                "order 0193a4b3-0000-7e4f-9a2b-3c4d5e6f7a8b cannot go from shipped to cancelled",
            ),
            422: problem(422, "idempotency-key-reused", "The key was used for another request"),
        },
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        order_id: OrderIdPath,
        idempotency_key: OptionalIdempotencyKey = None,
    ) -> Response[Any]:
        async def cancel() -> Response[OrderOut]:
            order = await services.shop.handle(
                CancelOrder(order_id=order_id, customer_id=principal.customer_id)
            )
            return Response(OrderOut.of(order), status_code=200)

        return await run_once(
            request,
            services.idempotency,
            owner=principal.customer_id,
            key=idempotency_key,
            ttl=timedelta(hours=services.config.idempotency_hours),
            work=cancel,
            required=False,
        )
