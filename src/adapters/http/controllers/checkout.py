"""Checkout: the customer's cart becomes an order, exactly once per `Idempotency-Key`.

Stock is reserved before the card is authorized, and every failure hands back what it took
(that is the core's `PlaceOrder`); this route adds the key, so a client that lost the answer
can resend the same request and get the same order instead of a second one. The key names
the order it places, so a retry after the first request died is answered from that order,
driven to its end first (`ResumeOrder`) once the checkout's time is up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, HeaderParameter

from adapters.http import shop_metrics
from adapters.http.idempotency import HEADER, Resource, run_once
from adapters.http.problem_docs import INVALID_REQUEST, UNAUTHORIZED, problem
from adapters.http.schemas.orders import CHECKOUT_EXAMPLE, ORDER_EXAMPLE, CheckoutIn, OrderOut
from adapters.http.security import Principal, required_principal
from adapters.http.services import ApiServices
from adapters.http.throttling import limited
from shopcore.ordering.commands import PlaceOrder, ResumeOrder
from shopcore.ordering.model import Order, OrderStatus
from shopcore.ordering.queries import get_order
from shopcore.shared.errors import (
    Busy,
    CheckoutInterrupted,
    IllegalTransition,
    NotFound,
    ShopError,
)
from shopcore.shared.ids import new_id

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        required=True,
        max_length=255,
        description="a unique string per checkout attempt (a UUID will do); resend the same "
        "key with the same body to retry safely. Keys expire after 24 hours.",
    ),
]

_OUT_OF_STOCK = problem(
    409,
    "out-of-stock",
    "Not enough stock for the SKUs listed in `skus` (or the cart is already being checked "
    "out, or the key is in use)",
    "not enough stock for: TSHIRT-BLUE-M",
    skus=["TSHIRT-BLUE-M"],
)


def _order_created(order: Order) -> Response[OrderOut]:
    return Response(
        OrderOut.of(order), status_code=201, headers={"Location": f"/v1/orders/{order.id}"}
    )


# Who is asking: resolved from the bearer token for every route of the controller.
CALLER = {"principal": Provide(required_principal)}


class CheckoutController(Controller):
    path = "/v1/checkout"
    tags = ("checkout",)
    dependencies = CALLER
    security = ({"BearerToken": []},)

    @post(
        middleware=[limited("checkout")],
        summary="Check out a cart",
        description="Turn the customer's cart into an order: reserve the stock, authorize the "
        "payment, confirm. Needs an `Idempotency-Key`: the same key with the same body "
        "replays the first answer (with `Idempotent-Replayed: true`), with another body is "
        "422, and while the first request still runs is 409 `idempotency-key-in-use`. "
        "A declined card (402) releases the stock and gives the cart back; a gateway outage "
        "(503, `Retry-After`) too, and the same key may then be retried. A request that died "
        "half-way is finished by the shop (confirmed, or undone): a retry with its key gets "
        "409 while the checkout's time runs, then the outcome.",
        response_headers=[
            ResponseHeader(
                name="Idempotent-Replayed",
                description="`true` when this is the stored answer of an earlier request",
                documentation_only=True,
            ),
            ResponseHeader(name="Location", description="the new order", documentation_only=True),
        ],
        responses={
            201: ResponseSpec(
                OrderOut,
                description="The order, confirmed and paid (authorized)",
                generate_examples=False,
                examples=[ORDER_EXAMPLE],
            ),
            400: INVALID_REQUEST,
            401: UNAUTHORIZED,
            402: problem(402, "payment-declined", "The card was declined; the cart is open"),
            404: problem(404, "not-found", "No such cart, or not the caller's"),
            409: _OUT_OF_STOCK,
            422: problem(
                422,
                "idempotency-key-reused",
                "The key was used for another request, the cart is empty, or the address "
                "is invalid",
            ),
            503: problem(
                503,
                "payment-gateway-unavailable",
                "The payment gateway failed, the shop's database did (`busy`), or a fault "
                "interrupted the checkout and it was undone (`checkout-interrupted`); retry "
                "with the same key after `Retry-After` seconds",
            ),
        },
    )
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[ApiServices],
        principal: NamedDependency[Principal],
        data: Annotated[CheckoutIn, Body(examples=[CHECKOUT_EXAMPLE])],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        settle_within = timedelta(seconds=services.config.settle_within_seconds)
        order_id = new_id()
        command = PlaceOrder(
            customer_id=principal.customer_id,
            cart_id=data.cart_id,
            shipping_address=data.shipping_address.to_address(),
            payment_token=data.payment_token,
            order_id=order_id,
            settle_by=datetime.now(UTC) + settle_within,
        )

        async def place() -> Response[OrderOut]:
            try:
                order = await services.shop.handle(command)
            except ShopError as error:
                shop_metrics.checkout_failed(error)
                raise
            shop_metrics.checkout_placed()
            return _order_created(order)

        async def answer(order_id: str, since: datetime) -> Response[Any] | None:
            try:
                order = await services.shop.handle(ResumeOrder(order_id=order_id))
            except NotFound:
                if datetime.now(UTC) < since + 2 * settle_within:
                    return None  # the first request may still save its order
                raise CheckoutInterrupted(
                    "the first request with this key stopped before it placed an order; "
                    "retry with the same key"
                ) from None
            except Busy:
                return None  # the first request is still within its time
            return _answer(order)

        async def alive(order_id: str) -> bool:
            order = await get_order(services.shop.uow(), order_id, None)
            return order is not None and not order.settled

        return await run_once(
            request,
            services.idempotency,
            owner=principal.customer_id,
            key=idempotency_key,
            ttl=timedelta(hours=services.config.idempotency_hours),
            work=place,
            resource=Resource(order_id, answer, alive),
        )


def _answer(order: Order) -> Response[Any] | None:
    """What the request that placed `order` would have answered: the order once it is placed,
    the error its checkout ended with otherwise."""
    if order.status in PLACED:
        return _order_created(order)
    if order.failure is not None:
        raise order.failure.error()
    if order.status is OrderStatus.CANCELLED:
        raise IllegalTransition(f"order {order.id} was cancelled while it was being paid")
    return None  # still pending: its recovery could not finish yet


# An order in any of these states was placed: its checkout answered 201.
PLACED = frozenset(OrderStatus) - {
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.CANCELLED,
}
