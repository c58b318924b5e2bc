"""How one operation's answer feeds the next, stated as OpenAPI links on its responses.

A client (or a fuzzer's stateful phase) reads here which value of a response to send where: a
new cart's `id` and `cart_token` to its items and to checkout, a cart line's `sku` to that
line, a catalog variant's `sku` to a cart and to its stock, an order's `id` to its cancellation,
shipment and refunds, a refresh token to the refresh. Each link names its target by the
`operationId` the document gives it, found from its method and path when the document is
finished, so a renamed handler cannot leave a dangling link; a link whose source or target is
missing fails the build instead of being dropped.

A link carries values from one response (and the request that got it) only: an item for a
cart needs the cart's id from one answer and a SKU the catalog sells from another, so the
catalog's links give the SKU and say that the cart comes from `POST /v1/carts`.

Bodies: the OpenAPI runtime expression of `requestBody` stands for a whole body; an object
with expressions in its fields (`{"cart_id": "$response.body#/id"}`) is the form Schemathesis
reads (its "nested expressions"), so each such link also says in words which field gets what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar.openapi.spec import Link, OpenAPI, OpenAPIResponse, Operation, PathItem

_TOKEN = "header.X-Cart-Token"
_SENT_TOKEN = "$request.header.X-Cart-Token"


@dataclass(frozen=True)
class _Link:
    name: str
    method: str
    path: str
    description: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


def _show_cart(cart_id: str, token: str | None = None) -> _Link:
    return _Link(
        "ShowCart",
        "GET",
        "/v1/carts/{cart_id}",
        "The cart as it is now.",
        _cart(cart_id, token),
    )


def _add_item(cart_id: str, token: str | None = None, sku: str | None = None) -> _Link:
    return _Link(
        "AddItem",
        "POST",
        "/v1/carts/{cart_id}/items",
        "Add units of a SKU to this cart: one from the catalog (`GET /v1/products`)"
        + (f", or more of its first line's (`sku` in the body: `{sku}`)." if sku else "."),
        _cart(cart_id, token),
        body={"sku": sku} if sku else None,
    )


def _line(name: str, method: str, cart_id: str, sku: str, token: str | None, what: str) -> _Link:
    return _Link(
        name,
        method,
        "/v1/carts/{cart_id}/items/{sku}",
        what,
        {**_cart(cart_id, token), "path.sku": sku},
    )


def _check_out(cart_id: str) -> _Link:
    return _Link(
        "CheckOut",
        "POST",
        "/v1/checkout",
        f"Check this cart out, signed in as its owner: `cart_id` in the body is the cart's id "
        f"(`{cart_id}`).",
        body={"cart_id": cart_id},
    )


def _cart(cart_id: str, token: str | None) -> dict[str, str]:
    return {"path.cart_id": cart_id, **({_TOKEN: token} if token else {})}


def _to_cart(sku: str) -> _Link:
    return _Link(
        "AddToCart",
        "POST",
        "/v1/carts/{cart_id}/items",
        f"Put this variant in a cart: `sku` in the body is the variant's (`{sku}`); the cart's "
        "id and, for an anonymous cart, its `X-Cart-Token` come from `POST /v1/carts`.",
        body={"sku": sku},
    )


def _stock(sku: str) -> tuple[_Link, ...]:
    parameters = {"path.sku": sku}
    return (
        _Link("Availability", "GET", "/v1/inventory/{sku}", "Units on sale now.", parameters),
        _Link(
            "StockLevel",
            "GET",
            "/v1/admin/inventory/{sku}",
            "The SKU's stock (staff).",
            parameters,
        ),
        _Link(
            "ReceiveStock",
            "POST",
            "/v1/admin/inventory/{sku}/receipts",
            "Book a delivery of the SKU (staff).",
            parameters,
        ),
        _Link(
            "AdjustStock",
            "POST",
            "/v1/admin/inventory/{sku}/adjustments",
            "Correct the SKU's stock (staff).",
            parameters,
        ),
    )


def _product(product_id: str) -> tuple[_Link, ...]:
    parameters = {"path.product_id": product_id}
    return (
        _Link("ShowProduct", "GET", "/v1/products/{product_id}", "The product page.", parameters),
        _Link(
            "ChangeProduct",
            "PATCH",
            "/v1/admin/products/{product_id}",
            "Change the product (staff).",
            parameters,
        ),
        _Link(
            "ArchiveProduct",
            "DELETE",
            "/v1/admin/products/{product_id}",
            "Take the product off sale (staff).",
            parameters,
        ),
    )


def _customer_order(order_id: str) -> tuple[_Link, ...]:
    parameters = {"path.order_id": order_id}
    return (
        _Link("ShowOrder", "GET", "/v1/orders/{order_id}", "The order.", parameters),
        _Link(
            "CancelOrder",
            "POST",
            "/v1/orders/{order_id}/cancel",
            "Cancel the order before it ships.",
            parameters,
        ),
    )


def _staff_order(order_id: str) -> tuple[_Link, ...]:
    parameters = {"path.order_id": order_id}
    return (
        _Link(
            "ShowOrderToStaff",
            "GET",
            "/v1/admin/orders/{order_id}",
            "The order with its payment and refunds (staff).",
            parameters,
        ),
        _Link(
            "ShipOrder",
            "POST",
            "/v1/admin/orders/{order_id}/ship",
            "Ship the order once it is confirmed (staff).",
            parameters,
        ),
    )


def _refund(order_id: str) -> _Link:
    return _Link(
        "RefundOrder",
        "POST",
        "/v1/admin/orders/{order_id}/refunds",
        "Refund what is left to refund: `amount` in the body is the order's `refundable` "
        "(staff; only a shipped order has anything to refund).",
        {"path.order_id": order_id},
        body={"amount": "$response.body#/refundable"},
    )


def _sessions(refresh_token: str) -> tuple[_Link, ...]:
    body = {"refresh_token": refresh_token}
    return (
        _Link(
            "Refresh",
            "POST",
            "/v1/auth/refresh",
            "A new token pair: `refresh_token` in the body is this pair's.",
            body=body,
        ),
        _Link(
            "LogOut",
            "POST",
            "/v1/auth/logout",
            "End the session: `refresh_token` in the body is this pair's.",
            body=body,
        ),
    )


_ID = "$response.body#/id"
_FIRST_LINE = "$response.body#/lines/0/sku"
_CHANGE = "Set the quantity of the cart's first line."
_REMOVE = "Take the cart's first line out."
# (method, path, status) of a response -> the operations its answer feeds.
LINKS: dict[tuple[str, str, str], tuple[_Link, ...]] = {
    ("POST", "/v1/carts", "201"): (
        _show_cart(_ID, "$response.body#/cart_token"),
        _add_item(_ID, "$response.body#/cart_token"),
        _Link(
            "MergeIntoMine",
            "POST",
            "/v1/carts/{cart_id}/merge",
            "Once its shopper signs in: move this anonymous cart's lines into the customer's "
            "cart, with the customer's access token.",
            {"path.cart_id": _ID, _TOKEN: "$response.body#/cart_token"},
        ),
    ),
    ("POST", "/v1/carts", "200"): (
        _show_cart(_ID),
        _add_item(_ID, sku=_FIRST_LINE),
        _line("ChangeItem", "PATCH", _ID, _FIRST_LINE, None, _CHANGE),
        _line("RemoveItem", "DELETE", _ID, _FIRST_LINE, None, _REMOVE),
        _check_out(_ID),
    ),
    ("GET", "/v1/carts/{cart_id}", "200"): (
        _add_item(_ID, _SENT_TOKEN, _FIRST_LINE),
        _line("ChangeItem", "PATCH", _ID, _FIRST_LINE, _SENT_TOKEN, _CHANGE),
        _check_out(_ID),
    ),
    ("POST", "/v1/carts/{cart_id}/items", "200"): (
        _line(
            "ChangeItem",
            "PATCH",
            _ID,
            "$request.body#/sku",
            _SENT_TOKEN,
            "Set the quantity of the line just added to.",
        ),
        _line("RemoveItem", "DELETE", _ID, "$request.body#/sku", _SENT_TOKEN, "Take it out again."),
        _check_out(_ID),
    ),
    ("PATCH", "/v1/carts/{cart_id}/items/{sku}", "200"): (
        _line("RemoveItem", "DELETE", _ID, "$request.path.sku", _SENT_TOKEN, "Take the line out."),
        _check_out(_ID),
    ),
    ("DELETE", "/v1/carts/{cart_id}/items/{sku}", "200"): (_show_cart(_ID, _SENT_TOKEN),),
    # The customer's own cart: the request's X-Cart-Token was the merged anonymous cart's.
    ("POST", "/v1/carts/{cart_id}/merge", "200"): (_show_cart(_ID), _check_out(_ID)),
    ("GET", "/v1/products", "200"): (
        _product("$response.body#/items/0/id")[0],
        _to_cart("$response.body#/items/0/variants/0/sku"),
    ),
    ("GET", "/v1/products/{product_id}", "200"): (
        _to_cart("$response.body#/variants/0/sku"),
        *_stock("$response.body#/variants/0/sku"),
        *_product(_ID)[1:],
    ),
    ("POST", "/v1/admin/products", "201"): (
        *_product(_ID),
        *_stock("$response.body#/variants/0/sku")[1:3],
    ),
    ("PATCH", "/v1/admin/products/{product_id}", "200"): (
        _product(_ID)[0],
        _product(_ID)[2],
    ),
    ("GET", "/v1/admin/inventory/{sku}", "200"): _stock("$response.body#/sku")[2:],
    ("POST", "/v1/admin/inventory/{sku}/receipts", "201"): _stock("$response.body#/sku")[:2],
    ("POST", "/v1/admin/inventory/{sku}/adjustments", "201"): _stock("$response.body#/sku")[:2],
    ("POST", "/v1/checkout", "201"): (*_customer_order(_ID), *_staff_order(_ID)),
    ("GET", "/v1/orders", "200"): _customer_order("$response.body#/items/0/id"),
    ("GET", "/v1/orders/{order_id}", "200"): _customer_order(_ID)[1:],
    ("POST", "/v1/orders/{order_id}/cancel", "200"): _customer_order(_ID)[:1],
    ("GET", "/v1/admin/orders", "200"): _staff_order("$response.body#/items/0/id"),
    ("GET", "/v1/admin/orders/{order_id}", "200"): (_staff_order(_ID)[1], _refund(_ID)),
    ("POST", "/v1/admin/orders/{order_id}/ship", "200"): (_refund(_ID), _staff_order(_ID)[0]),
    ("POST", "/v1/admin/orders/{order_id}/refunds", "201"): (
        _staff_order(_ID)[0],
        _refund(_ID),
    ),
    ("POST", "/v1/customers", "201"): (
        _Link(
            "LogIn",
            "POST",
            "/v1/auth/token",
            "Log in as the new customer: `email` and `password` are the registration's.",
            body={"email": "$request.body#/email", "password": "$request.body#/password"},
        ),
    ),
    ("POST", "/v1/auth/token", "200"): _sessions("$response.body#/refresh_token"),
    ("POST", "/v1/auth/refresh", "200"): _sessions("$response.body#/refresh_token"),
}


def link_operations(openapi: OpenAPI) -> None:
    """Put `LINKS` on the document's responses (each response gets a `links` map of its own)."""
    for (method, path, status), links in LINKS.items():
        response = _response(openapi, method, path, status)
        response.links = {
            link.name: Link(
                operation_id=_operation(openapi, link.method, link.path).operation_id,
                parameters=dict(link.parameters) or None,
                request_body=dict(link.body) if link.body is not None else None,
                description=link.description,
            )
            for link in links
        }


def _operation(openapi: OpenAPI, method: str, path: str) -> Operation:
    item = (openapi.paths or {}).get(path)
    operation = getattr(item, method.lower(), None) if isinstance(item, PathItem) else None
    if not isinstance(operation, Operation) or not operation.operation_id:
        raise LookupError(f"an OpenAPI link names {method} {path}, which the API does not have")
    return operation


def _response(openapi: OpenAPI, method: str, path: str, status: str) -> OpenAPIResponse:
    responses = _operation(openapi, method, path).responses or {}
    response = responses.get(status)
    if not isinstance(response, OpenAPIResponse):
        raise LookupError(f"an OpenAPI link starts at {method} {path} {status}, not documented")
    if response.links:
        raise ValueError(f"{method} {path} {status} has links already")
    return response
