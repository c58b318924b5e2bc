"""The thin shop: the fixed ceiling of `make bench` for checkout and the uncached catalog.

FROZEN CODE. This file is a yardstick, not a product: shopcore's checkout and uncached reads
are measured against it in the same run (bench/README.md, issue "[3 of 8] Checkout and
catalog at the database's pace"). Change it only with the reason in the commit message, and
say in bench/README.md that ratios before and after the change do not compare.

It does what a correct checkout must do and nothing else, on its own minimal tables (`SCHEMA`,
in the database `shopcore_thin` that the bench creates and fills with the same data as
shopcore's), with asyncpg directly: a pool, and every statement sent with arguments, which
asyncpg prepares once per connection and reuses (its statement cache), Litestar for the
HTTP side, served exactly as `shopcore serve` is (granian, one worker process).

`POST /v1/checkout` (Bearer JWT HS256, JSON body naming the cart, `Idempotency-Key`):

1. verify the JWT (signature, `exp`, `iat`, `iss`, `aud`, `sub`, as shopcore does);
2. record the idempotency key (`CLAIM_KEY`, alone); a key already recorded answers from
   its order (`Idempotent-Replayed: true`), 409 while that order is unfinished, 422 for
   another body;
3. one transaction: claim the caller's open cart and read its lines at catalog prices
   (`CLAIM_CART`), reserve each line with a conditional UPDATE in SKU order (`RESERVE`:
   `WHERE on_hand - reserved - allocated >= qty`, so no concurrency can oversell; rows
   locked in one order, so two checkouts never deadlock), insert the order, its lines and
   an outbox row; out of stock rolls all of it back and answers 409 `out-of-stock`;
4. authorize the payment in process (`tok_visa` passes, `tok_decline` is declined: one
   transaction hands the stock and the cart back and fails the order, 402);
5. one transaction: allocate each line (SKU order), confirm the order, an outbox row;
6. answer 201 with the order as JSON, in shopcore's shape (`OrderOut`).

`GET /v1/products` (20 products with their variants, keyset page by id, newest first, one
statement) and `GET /v1/products/{id}` (with each variant's units available now, one
statement) answer shopcore's JSON shape (`ProductPage`, `ProductOut`).

What it leaves out, on purpose: recovery of a checkout whose process died between its two
transactions, reservation expiry, discounts, rate limits, metrics, caching, OpenAPI.

    BENCH_THIN_DSN=postgresql://postgres@127.0.0.1:5432/shopcore_thin \\
    BENCH_JWT_SECRET=... granian --interface asgi --workers 1 --loop uvloop --no-ws \\
        --no-access-log --log-level warning bench.thin_app:app
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

import asyncpg
import jwt
import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.params import Parameter, PathParameter

DSN = os.environ.get("BENCH_THIN_DSN", "postgresql://postgres@127.0.0.1:5432/shopcore_thin")
SECRET = os.environ.get("BENCH_JWT_SECRET", "")
ISSUER, AUDIENCE = "shopcore", "shopcore-api"
# shopcore's pool: at most 10 connections and 10 more on overflow, opened as needed.
POOL_MIN, POOL_MAX = 2, 20
POOL_TIMEOUT_SECONDS = 30
PAGE = 20
# shopcore's shipping and tax rules (FlatRateShipping, CountryTax with EU_STANDARD_RATES).
SHIPPING, FREE_SHIPPING_FROM = 495, 5000
TAX_RATES = {"DE": 1900, "FR": 2000, "NL": 2100, "AT": 2000, "IT": 2200, "ES": 2100}
PROBLEM = "application/problem+json"

SCHEMA = """
CREATE TABLE products (
    id text PRIMARY KEY, slug text NOT NULL UNIQUE, name text NOT NULL,
    description text NOT NULL, category text NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE variants (
    sku text PRIMARY KEY, product_id text NOT NULL REFERENCES products (id),
    position int NOT NULL, price_amount bigint NOT NULL, currency text NOT NULL,
    attributes json NOT NULL);
CREATE INDEX variants_product ON variants (product_id, position);
CREATE TABLE stock (
    sku text PRIMARY KEY, on_hand bigint NOT NULL,
    reserved bigint NOT NULL DEFAULT 0, allocated bigint NOT NULL DEFAULT 0,
    CHECK (reserved >= 0 AND allocated >= 0 AND reserved + allocated <= on_hand));
CREATE TABLE carts (
    id text PRIMARY KEY, customer_id text NOT NULL, currency text NOT NULL,
    status text NOT NULL, order_id text);
CREATE TABLE cart_lines (
    cart_id text NOT NULL REFERENCES carts (id), sku text NOT NULL,
    quantity int NOT NULL CHECK (quantity > 0), PRIMARY KEY (cart_id, sku));
CREATE TABLE orders (
    id text PRIMARY KEY, customer_id text NOT NULL, cart_id text NOT NULL,
    status text NOT NULL, subtotal bigint NOT NULL, shipping bigint NOT NULL,
    tax bigint NOT NULL, total bigint NOT NULL, currency text NOT NULL,
    shipping_address json NOT NULL, payment_ref text,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE order_lines (
    order_id text NOT NULL REFERENCES orders (id), position int NOT NULL,
    sku text NOT NULL, name text NOT NULL, quantity int NOT NULL, unit_price bigint NOT NULL,
    PRIMARY KEY (order_id, position));
CREATE TABLE outbox (
    id bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, event_type text NOT NULL,
    payload text NOT NULL, created_at timestamptz NOT NULL, published_at timestamptz);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE TABLE idempotency_keys (
    customer_id text NOT NULL, key text NOT NULL, request_hash text NOT NULL,
    order_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, key));
"""

# -- the statements (bench/thin_pgbench.py replays them, text unchanged) --------------------
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
)
# The caller's open cart, claimed for the order, with its lines at today's catalog prices in
# SKU order; one row with a NULL sku for an empty cart, none for no such open cart.
CLAIM_CART = (
    "WITH cart AS (UPDATE carts SET status = 'checked_out', order_id = $3 "
    "WHERE id = $1 AND customer_id = $2 AND status = 'open' RETURNING id, currency) "
    "SELECT cart.currency AS cart_currency, l.sku, l.quantity, v.price_amount, v.currency, "
    "p.name, p.status FROM cart LEFT JOIN (cart_lines l JOIN variants v ON v.sku = l.sku "
    "JOIN products p ON p.id = v.product_id) ON l.cart_id = cart.id ORDER BY l.sku"
)
RESERVE = (
    "UPDATE stock SET reserved = reserved + $2 "
    "WHERE sku = $1 AND on_hand - reserved - allocated >= $2"
)
INSERT_ORDER = (
    "INSERT INTO orders (id, customer_id, cart_id, status, subtotal, shipping, tax, total, "
    "currency, shipping_address, created_at, updated_at) "
    "VALUES ($1, $2, $3, 'pending_payment', $4, $5, $6, $7, $8, $9, $10, $10)"
)
INSERT_LINES = (
    "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price) "
    "SELECT $1, t.position, t.sku, t.name, t.quantity, t.unit_price "
    "FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[]) "
    "AS t (position, sku, name, quantity, unit_price)"
)
OUTBOX = "INSERT INTO outbox (event_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4)"
ALLOCATE = (
    "UPDATE stock SET reserved = reserved - $2, allocated = allocated + $2 "
    "WHERE sku = $1 AND reserved >= $2"
)
CONFIRM = (
    "UPDATE orders SET status = 'confirmed', payment_ref = $2, updated_at = $3 "
    "WHERE id = $1 AND status = 'pending_payment'"
)
# The rarer paths: a declined card, a refused checkout's key, a replayed key.
RELEASE = "UPDATE stock SET reserved = reserved - $2 WHERE sku = $1 AND reserved >= $2"
FAIL_ORDER = (
    "UPDATE orders SET status = 'payment_failed', updated_at = $2 "
    "WHERE id = $1 AND status = 'pending_payment'"
)
REOPEN_CART = "UPDATE carts SET status = 'open', order_id = NULL WHERE id = $1 AND order_id = $2"
FREE_KEY = "DELETE FROM idempotency_keys WHERE customer_id = $1 AND key = $2"
KEY_OF = "SELECT request_hash, order_id FROM idempotency_keys WHERE customer_id = $1 AND key = $2"
ORDER_OF = "SELECT * FROM orders WHERE id = $1"
LINES_OF = "SELECT * FROM order_lines WHERE order_id = $1 ORDER BY position"

_PRODUCT_COLUMNS = (
    "p.id, p.slug, p.name, p.description, p.category, p.status, p.created_at, p.updated_at, "
    "v.sku, v.price_amount, v.currency, v.attributes"
)
LISTING_FIRST = (
    f"SELECT {_PRODUCT_COLUMNS} FROM (SELECT * FROM products WHERE status = 'active' "
    "ORDER BY id DESC LIMIT $1) p JOIN variants v ON v.product_id = p.id "
    "ORDER BY p.id DESC, v.position"
)
LISTING_AFTER = (
    f"SELECT {_PRODUCT_COLUMNS} FROM (SELECT * FROM products WHERE status = 'active' "
    "AND id < $2 ORDER BY id DESC LIMIT $1) p JOIN variants v ON v.product_id = p.id "
    "ORDER BY p.id DESC, v.position"
)
DETAIL = (
    f"SELECT {_PRODUCT_COLUMNS}, coalesce(s.on_hand - s.reserved - s.allocated, 0) "
    "AS available FROM products p JOIN variants v ON v.product_id = p.id "
    "LEFT JOIN stock s ON s.sku = v.sku WHERE p.id = $1 AND p.status = 'active' "
    "ORDER BY v.position"
)


# -- JSON, in shopcore's shapes ---------------------------------------------------------------
class MoneyOut(msgspec.Struct):
    amount: int
    currency: str


class VariantOut(msgspec.Struct):
    sku: str
    price: MoneyOut
    attributes: msgspec.Raw  # stored as the JSON document it is
    available: int | None = None


class ProductOut(msgspec.Struct):
    id: str
    slug: str
    name: str
    description: str
    category: str
    status: str
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime


class ProductPage(msgspec.Struct):
    items: list[ProductOut]
    next_cursor: str | None


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    line1: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")]
    line2: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CheckoutIn(msgspec.Struct, forbid_unknown_fields=True):
    cart_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    shipping_address: AddressIn
    payment_token: Annotated[str, msgspec.Meta(pattern="^[\\x21-\\x7e]{1,200}$")]


class AddressOut(msgspec.Struct):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


class OrderLineOut(msgspec.Struct):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyOut
    line_total: MoneyOut


class TotalsOut(msgspec.Struct):
    subtotal: MoneyOut
    discount: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class StatusChangeOut(msgspec.Struct):
    from_status: str | None
    to_status: str
    at: datetime
    reason: str = ""


class OrderOut(msgspec.Struct):
    id: str
    status: str
    cart_id: str
    lines: list[OrderLineOut]
    discounts: list[Any]
    totals: TotalsOut
    refunded: MoneyOut
    shipping_address: AddressOut
    history: list[StatusChangeOut]
    created_at: datetime
    updated_at: datetime


_encode = msgspec.json.Encoder().encode
_checkout_in = msgspec.json.Decoder(CheckoutIn)


def products_out(rows: Sequence[Any], *, available: bool) -> list[ProductOut]:
    """Rows of one product per variant, products in order, into `ProductOut`s."""
    products: list[ProductOut] = []
    for row in rows:
        if not products or products[-1].id != row["id"]:
            products.append(
                ProductOut(
                    row["id"],
                    row["slug"],
                    row["name"],
                    row["description"],
                    row["category"],
                    row["status"],
                    [],
                    row["created_at"],
                    row["updated_at"],
                )
            )
        products[-1].variants.append(
            VariantOut(
                row["sku"],
                MoneyOut(row["price_amount"], row["currency"]),
                msgspec.Raw(row["attributes"]),
                row["available"] if available else None,
            )
        )
    return products


def page_of(rows: Sequence[Any], limit: int) -> ProductPage:
    """Rows of up to `limit` + 1 products: the extra one says another page follows."""
    products = products_out(rows, available=False)
    if len(products) <= limit:
        return ProductPage(products, None)
    items = products[:limit]
    return ProductPage(items, encode_cursor(items[-1].id))


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii")).decode()


@dataclass(frozen=True)
class Totals:
    subtotal: int
    shipping: int
    tax: int
    total: int


def totals(subtotal: int, country: str) -> Totals:
    """shopcore's rules: flat shipping unless free, tax on goods and shipping, half up."""
    shipping = 0 if subtotal >= FREE_SHIPPING_FROM else SHIPPING
    taxable = subtotal + shipping
    tax, remainder = divmod(taxable * TAX_RATES.get(country, 0), 10_000)
    if remainder * 2 >= 10_000:
        tax += 1
    return Totals(subtotal, shipping, tax, taxable + tax)


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class Placed:
    id: str
    customer_id: str
    cart_id: str
    currency: str
    lines: list[Line]  # in SKU order
    totals: Totals
    address: AddressOut
    created_at: datetime


def order_out(order: Placed, status: str, updated_at: datetime) -> OrderOut:
    c = order.currency
    t = order.totals
    history = [StatusChangeOut(None, "pending_payment", order.created_at)]
    if status != "pending_payment":
        history.append(StatusChangeOut("pending_payment", status, updated_at))
    return OrderOut(
        order.id,
        status,
        order.cart_id,
        [
            OrderLineOut(
                line.sku,
                line.name,
                line.quantity,
                MoneyOut(line.unit_price, c),
                MoneyOut(line.unit_price * line.quantity, c),
            )
            for line in order.lines
        ],
        [],
        TotalsOut(
            MoneyOut(t.subtotal, c),
            MoneyOut(0, c),
            MoneyOut(t.shipping, c),
            MoneyOut(t.tax, c),
            MoneyOut(t.total, c),
        ),
        MoneyOut(0, c),
        order.address,
        history,
        order.created_at,
        updated_at,
    )


# -- the checkout ------------------------------------------------------------------------------
class Connection(Protocol):
    """What the checkout uses of an asyncpg connection (tests pass a recording fake)."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...
    def transaction(self) -> Any: ...


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] | None = None


class Refused(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


def problem(status: int, code: str, detail: str, **extra: Any) -> Answer:
    body = {
        "type": f"https://shopcore.dev/problems/{code}",
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Answer(status, _encode(body))


def new_id() -> str:
    return str(uuid.uuid4())


def event(kind: str, order: Placed, **fields: Any) -> bytes:
    return _encode({"type": kind, "order_id": order.id, "customer_id": order.customer_id, **fields})


async def place_order(
    conn: Connection, customer_id: str, key: str, request_hash: str, data: CheckoutIn
) -> Answer:
    order_id = new_id()
    if await conn.execute(CLAIM_KEY, customer_id, key, request_hash, order_id) != "INSERT 0 1":
        return await replay(conn, customer_id, key, request_hash)
    try:
        order = await _reserve(conn, customer_id, order_id, data)
    except Refused as refused:
        await conn.execute(FREE_KEY, customer_id, key)
        return refused.answer
    if data.payment_token == "tok_decline":  # the in-process gateway
        await _hand_back(conn, order)
        await conn.execute(FREE_KEY, customer_id, key)
        return problem(402, "payment-declined", "the card was declined")
    payment_ref = f"auth_{uuid.uuid4().hex}"
    confirmed_at = datetime.now(UTC)
    async with conn.transaction():
        for line in order.lines:
            if await conn.execute(ALLOCATE, line.sku, line.quantity) != "UPDATE 1":
                raise RuntimeError(f"order {order.id}: {line.sku} was not reserved")
        await conn.execute(CONFIRM, order.id, payment_ref, confirmed_at)
        payload = event("OrderConfirmed", order, payment_ref=payment_ref)
        await conn.execute(OUTBOX, new_id(), "OrderConfirmed", payload.decode(), confirmed_at)
    body = _encode(order_out(order, "confirmed", confirmed_at))
    return Answer(201, body, {"Location": f"/v1/orders/{order.id}"})


async def _reserve(conn: Connection, customer_id: str, order_id: str, data: CheckoutIn) -> Placed:
    now = datetime.now(UTC)
    a = data.shipping_address
    address = AddressOut(a.name, a.line1, a.line2, a.city, a.postal_code, a.country)
    async with conn.transaction():
        rows = await conn.fetch(CLAIM_CART, data.cart_id, customer_id, order_id)
        if not rows:
            raise Refused(problem(404, "not-found", f"no open cart {data.cart_id} of yours"))
        currency = rows[0]["cart_currency"]
        if rows[0]["sku"] is None:
            raise Refused(problem(422, "invalid-input", "the cart is empty"))
        lines = []
        for row in rows:
            if row["status"] != "active" or row["currency"] != currency:
                raise Refused(problem(422, "invalid-input", f"{row['sku']} is not for sale"))
            lines.append(Line(row["sku"], row["name"], row["quantity"], row["price_amount"]))
        for line in lines:  # in SKU order: rows are locked in one order by every checkout
            if await conn.execute(RESERVE, line.sku, line.quantity) != "UPDATE 1":
                detail = f"not enough stock for: {line.sku}"
                raise Refused(problem(409, "out-of-stock", detail, skus=[line.sku]))
        order = Placed(
            order_id,
            customer_id,
            data.cart_id,
            currency,
            lines,
            totals(sum(line.quantity * line.unit_price for line in lines), address.country),
            address,
            now,
        )
        t = order.totals
        await conn.execute(
            INSERT_ORDER,
            order_id,
            customer_id,
            data.cart_id,
            t.subtotal,
            t.shipping,
            t.tax,
            t.total,
            currency,
            _encode(address).decode(),
            now,
        )
        await conn.execute(
            INSERT_LINES,
            order_id,
            list(range(1, len(lines) + 1)),
            [line.sku for line in lines],
            [line.name for line in lines],
            [line.quantity for line in lines],
            [line.unit_price for line in lines],
        )
        items = [{"sku": line.sku, "quantity": line.quantity} for line in lines]
        payload = event("OrderPlaced", order, lines=items, total=t.total, currency=currency)
        await conn.execute(OUTBOX, new_id(), "OrderPlaced", payload.decode(), now)
    return order


async def _hand_back(conn: Connection, order: Placed) -> None:
    """A declined card: the stock and the cart back, the order failed."""
    now = datetime.now(UTC)
    async with conn.transaction():
        for line in order.lines:
            await conn.execute(RELEASE, line.sku, line.quantity)
        await conn.execute(FAIL_ORDER, order.id, now)
        await conn.execute(REOPEN_CART, order.cart_id, order.id)
        payload = event("OrderPaymentFailed", order)
        await conn.execute(OUTBOX, new_id(), "OrderPaymentFailed", payload.decode(), now)


async def replay(conn: Connection, customer_id: str, key: str, request_hash: str) -> Answer:
    claimed = await conn.fetchrow(KEY_OF, customer_id, key)
    if claimed is not None and claimed["request_hash"] != request_hash:
        return problem(422, "idempotency-key-reused", "the key was used for another request")
    row = None if claimed is None else await conn.fetchrow(ORDER_OF, claimed["order_id"])
    if row is None or row["status"] != "confirmed":
        return problem(409, "idempotency-key-in-use", "the first request is still running")
    lines = await conn.fetch(LINES_OF, row["id"])
    order = Placed(
        row["id"],
        row["customer_id"],
        row["cart_id"],
        row["currency"],
        [Line(x["sku"], x["name"], x["quantity"], x["unit_price"]) for x in lines],
        Totals(row["subtotal"], row["shipping"], row["tax"], row["total"]),
        msgspec.json.decode(row["shipping_address"], type=AddressOut),
        row["created_at"],
    )
    body = _encode(order_out(order, row["status"], row["updated_at"]))
    headers = {"Location": f"/v1/orders/{order.id}", "Idempotent-Replayed": "true"}
    return Answer(201, body, headers)


def caller(authorization: str | None) -> str | None:
    """The customer id of a valid access token, None otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token.strip(),
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            leeway=5,
        )
    except jwt.PyJWTError:
        return None
    return str(claims["sub"])


# -- HTTP ----------------------------------------------------------------------------------------
_pool: asyncpg.Pool | None = None


def _json(answer: Answer) -> Response[bytes]:
    media = "application/json" if answer.status < 400 else PROBLEM
    return Response(
        answer.body, status_code=answer.status, media_type=media, headers=answer.headers
    )


def _pg() -> asyncpg.Pool:
    assert _pool is not None
    return _pool


@post("/v1/checkout")
async def checkout(request: Request[Any, Any, Any]) -> Response[bytes]:
    customer_id = caller(request.headers.get("authorization"))
    if customer_id is None:
        return _json(problem(401, "unauthorized", "the access token is invalid or expired"))
    key = request.headers.get("idempotency-key", "")
    if not 1 <= len(key) <= 255:
        return _json(problem(400, "idempotency-key-required", "send an Idempotency-Key"))
    body = await request.body()
    try:
        data = _checkout_in.decode(body)
    except msgspec.MsgspecError as error:
        return _json(problem(400, "invalid-request", str(error)))
    request_hash = hashlib.sha256(body).hexdigest()
    try:
        async with _pg().acquire(timeout=POOL_TIMEOUT_SECONDS) as conn:
            return _json(await place_order(conn, customer_id, key, request_hash, data))
    except TimeoutError:
        return _json(problem(503, "busy", "the database is busy; retry"))


@get("/v1/products")
async def listing(
    limit: Annotated[int, Parameter(ge=1, le=100)] = PAGE,
    cursor: Annotated[str | None, Parameter(max_length=200)] = None,
) -> Response[bytes]:
    if cursor is None:
        rows = await _pg().fetch(LISTING_FIRST, limit + 1)
    else:
        try:
            before = decode_cursor(cursor)
        except (binascii.Error, UnicodeError, ValueError):
            return _json(problem(400, "invalid-input", "cursor is malformed"))
        rows = await _pg().fetch(LISTING_AFTER, limit + 1, before)
    return Response(_encode(page_of(rows, limit)), media_type="application/json")


@get("/v1/products/{product_id:str}")
async def detail(product_id: Annotated[str, PathParameter()]) -> Response[bytes]:
    rows = await _pg().fetch(DETAIL, product_id)
    if not rows:
        return _json(problem(404, "not-found", "no such product"))
    body = _encode(products_out(rows, available=True)[0])
    return Response(body, media_type="application/json")


@get(["/health/live", "/health/ready"], sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@asynccontextmanager
async def database(_: Litestar) -> AsyncIterator[None]:
    global _pool
    _pool = await asyncpg.create_pool(DSN, min_size=POOL_MIN, max_size=POOL_MAX)
    try:
        yield
    finally:
        await asyncio.wait_for(_pool.close(), 10)
        _pool = None


app = Litestar(
    route_handlers=[checkout, listing, detail, health],
    lifespan=[database],
    openapi_config=None,
    debug=False,
)
