"""Carts: a signed-in customer's, or an anonymous one reached with its secret cart token.

A cart the caller cannot show ownership of answers 404, the same as a cart that does not
exist, so cart ids cannot be probed. Ownership itself is decided by the core (`CartAccess`).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from adapters.http.problem_docs import INVALID_INPUT, INVALID_REQUEST, UNAUTHORIZED, problem
from adapters.http.schemas.carts import (
    CART_TOKEN_HEADER,
    CartIdPath,
    CartItemIn,
    CartOut,
    CartQuantityIn,
    CartTokenHeader,
    SkuPath,
)
from adapters.http.security import Principal, optional_principal
from shopcore.bootstrap import Shop
from shopcore.cart.commands import (
    AddCartItem,
    ChangeCartItem,
    CreateCart,
    MergeCarts,
    RemoveCartItem,
)
from shopcore.cart.model import CartAccess
from shopcore.cart.queries import get_cart

_MONEY = {"amount": 2400, "currency": "EUR"}
CART_EXAMPLE = Example(
    summary="A cart with one line",
    value={
        "id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
        "status": "open",
        "currency": "EUR",
        "lines": [
            {
                "sku": "TSHIRT-BLUE-M",
                "name": "Blue T-shirt",
                "quantity": 2,
                "unit_price": {"amount": 1200, "currency": "EUR"},
                "line_total": _MONEY,
            }
        ],
        "item_count": 2,
        "subtotal": _MONEY,
        "created_at": "2025-01-01T12:00:00Z",
        "updated_at": "2025-01-01T12:05:00Z",
    },
)
THE_CART = ResponseSpec(
    CartOut, description="The cart as it is now", generate_examples=False, examples=[CART_EXAMPLE]
)
NO_CART = problem(
    404,
    "not-found",
    "No such cart, or not the caller's (or not in the cart, for a SKU)",
    "cart 0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b not found",
)
NOT_OPEN = problem(
    409, "illegal-transition", "The cart is being checked out, checked out or merged"
)
CART_ERRORS = {400: INVALID_REQUEST, 401: UNAUTHORIZED, 404: NO_CART}
# A bearer token is optional on cart routes: anonymous carts go by X-Cart-Token instead.
MAYBE_SIGNED_IN: tuple[dict[str, list[str]], ...] = ({}, {"BearerToken": []})


def access(principal: Principal | None, cart_token: str | None) -> CartAccess:
    return CartAccess(
        customer_id=None if principal is None else principal.customer_id, token=cart_token
    )


# Who is asking: resolved from the bearer token for every route of the controller.
CALLER = {"principal": Provide(optional_principal)}


class CartsController(Controller):
    path = "/v1/carts"
    tags = ("carts",)
    dependencies = CALLER

    @post(
        summary="Open a cart",
        security=MAYBE_SIGNED_IN,
        description="With an access token: the customer's open cart, made if there is none "
        "(201 when made, 200 when it already existed). Without one: a new anonymous cart; its "
        "secret `cart_token` is in the body and the `X-Cart-Token` header, this once only. "
        "Send it back as `X-Cart-Token` to reach the cart.",
        response_headers=[
            ResponseHeader(
                name=CART_TOKEN_HEADER,
                description="the anonymous cart's secret token (anonymous carts only)",
                documentation_only=True,
            )
        ],
        responses={
            200: ResponseSpec(
                CartOut,
                description="The customer's existing open cart",
                generate_examples=False,
                examples=[CART_EXAMPLE],
            ),
            201: ResponseSpec(
                CartOut,
                description="A new cart; anonymous carts carry their `cart_token`",
                generate_examples=False,
                examples=[
                    Example(
                        summary="A new anonymous cart",
                        value={
                            "id": "0193a4b2-7c1d-7e4f-9a2b-3c4d5e6f7a8b",
                            "status": "open",
                            "currency": "EUR",
                            "lines": [],
                            "item_count": 0,
                            "subtotal": {"amount": 0, "currency": "EUR"},
                            "created_at": "2025-01-01T12:00:00Z",
                            "updated_at": "2025-01-01T12:00:00Z",
                            "cart_token": "hY3l0c2VjcmV0LXRva2VuLWZvci10aGUtY2FydA",
                        },
                    )
                ],
            ),
            401: UNAUTHORIZED,
        },
    )
    async def open_cart(
        self, shop: NamedDependency[Shop], principal: NamedDependency[Principal | None]
    ) -> Response[CartOut]:
        command = CreateCart(customer_id=None if principal is None else principal.customer_id)
        opened = await shop.handle(command)
        made = opened.cart.id == command.cart_id
        headers = {CART_TOKEN_HEADER: opened.token} if opened.token is not None else None
        return Response(
            CartOut.of(opened.cart, opened.token),
            status_code=201 if made else 200,
            headers=headers,
        )

    @get(
        "/{cart_id:str}",
        summary="Get a cart",
        security=MAYBE_SIGNED_IN,
        description="The cart's lines with the unit price captured when each line last "
        "changed, line totals and the subtotal. The owner's access token, or the anonymous "
        "cart's `X-Cart-Token`, must come with the request.",
        responses={200: THE_CART, **CART_ERRORS},
    )
    async def show(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal | None],
        cart_id: CartIdPath,
        cart_token: CartTokenHeader = None,
    ) -> CartOut:
        cart = await get_cart(shop.uow(), cart_id, access(principal, cart_token))
        return CartOut.of(cart)

    @post(
        "/{cart_id:str}/items",
        status_code=200,
        summary="Add an item",
        security=MAYBE_SIGNED_IN,
        description="Add units of a SKU at the catalog's current price; a SKU already in the "
        "cart gets the units added to its line (at most 100 a line, 50 lines a cart).",
        responses={
            200: THE_CART,
            **CART_ERRORS,
            409: NOT_OPEN,
            422: problem(422, "invalid-input", "Unknown or unsold SKU, or a quantity over the cap"),
        },
    )
    async def add_item(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal | None],
        cart_id: CartIdPath,
        data: Annotated[
            CartItemIn,
            Body(examples=[Example(value={"sku": "TSHIRT-BLUE-M", "quantity": 2})]),
        ],
        cart_token: CartTokenHeader = None,
    ) -> CartOut:
        cart = await shop.handle(
            AddCartItem(
                cart_id=cart_id,
                access=access(principal, cart_token),
                sku=data.sku,
                quantity=data.quantity,
            )
        )
        return CartOut.of(cart)

    @patch(
        "/{cart_id:str}/items/{sku:str}",
        summary="Change an item's quantity",
        security=MAYBE_SIGNED_IN,
        description="Set the quantity of a SKU already in the cart; its unit price is "
        "refreshed from the catalog.",
        responses={200: THE_CART, **CART_ERRORS, 409: NOT_OPEN, 422: INVALID_INPUT},
    )
    async def change_item(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal | None],
        cart_id: CartIdPath,
        sku: SkuPath,
        data: Annotated[CartQuantityIn, Body(examples=[Example(value={"quantity": 3})])],
        cart_token: CartTokenHeader = None,
    ) -> CartOut:
        cart = await shop.handle(
            ChangeCartItem(
                cart_id=cart_id,
                access=access(principal, cart_token),
                sku=sku,
                quantity=data.quantity,
            )
        )
        return CartOut.of(cart)

    @delete(
        "/{cart_id:str}/items/{sku:str}",
        status_code=200,
        summary="Remove an item",
        security=MAYBE_SIGNED_IN,
        description="Take a SKU's line out of the cart.",
        responses={200: THE_CART, **CART_ERRORS, 409: NOT_OPEN},
    )
    async def remove_item(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal | None],
        cart_id: CartIdPath,
        sku: SkuPath,
        cart_token: CartTokenHeader = None,
    ) -> CartOut:
        cart = await shop.handle(
            RemoveCartItem(cart_id=cart_id, access=access(principal, cart_token), sku=sku)
        )
        return CartOut.of(cart)

    @post(
        "/{cart_id:str}/merge",
        status_code=200,
        summary="Merge an anonymous cart into mine",
        description="After signing in: move the lines of the anonymous cart `cart_id` (proved "
        "by its `X-Cart-Token`) into the customer's open cart, at current catalog prices; "
        "quantities add up to the cap. The anonymous cart is closed; the customer's cart is "
        "returned.",
        security=({"BearerToken": []},),
        responses={200: THE_CART, **CART_ERRORS, 409: NOT_OPEN},
    )
    async def merge(
        self,
        shop: NamedDependency[Shop],
        principal: NamedDependency[Principal | None],
        cart_id: CartIdPath,
        cart_token: CartTokenHeader = None,
    ) -> CartOut:
        if principal is None:
            raise NotAuthorizedException("merging a cart needs an access token")
        if cart_token is None:
            raise NotFoundException(f"cart {cart_id} not found")
        cart = await shop.handle(
            MergeCarts(
                customer_id=principal.customer_id, anonymous_cart_id=cart_id, token=cart_token
            )
        )
        return CartOut.of(cart)
