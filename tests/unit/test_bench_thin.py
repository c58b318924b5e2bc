"""The thin app of the bench, without a server: it answers shopcore's JSON, prices as shopcore
does, sends its checkout's statements in the order pgbench replays them, and refuses what a
correct checkout refuses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import msgspec
import pytest

from adapters.http.caching import encode
from adapters.http.schemas.catalog import ProductOut, ProductPage
from adapters.http.schemas.orders import ORDER_SAMPLE
from adapters.policies.shipping import FlatRateShipping
from adapters.policies.tax import EU_STANDARD_RATES, CountryTax
from bench import shapes, thin_app, thin_pgbench
from bench.capture import CHECKOUT_BODY
from shopcore.catalog.model import Product, ProductStatus, Variant
from shopcore.ordering.model import OrderLine
from shopcore.ordering.pricing import compute_totals
from shopcore.shared.address import Address
from shopcore.shared.money import Money

NOW = datetime(2026, 12, 7, 8, 52, 1, 123456, tzinfo=UTC)
CUSTOMER = "01a24fc2-ce36-7547-bfd3-d7b7cdff7677"


def product(n: int) -> Product:
    return Product(
        id=f"01a24fc2-0000-7000-8000-{n:012d}",
        version=1,
        name=f"Bench product {n:05d}",
        slug=f"bench-product-{n:05d}",
        description="A product the benchmark made.",
        category="category-01",
        variants=tuple(
            Variant(sku=f"B-{n:05d}-{size}", price=Money(900 + k, "EUR"), attributes={"size": size})
            for k, size in enumerate("ML")
        ),
        status=ProductStatus.ACTIVE,
        created_at=NOW,
        updated_at=NOW,
    )


def rows_of(products: list[Product], available: dict[str, int] | None = None) -> list[dict]:
    """What the thin app's listing and detail statements return: a row per variant."""
    return [
        {
            "id": p.id,
            "slug": p.slug,
            "name": p.name,
            "description": p.description,
            "category": p.category,
            "status": str(p.status),
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "sku": v.sku,
            "price_amount": v.price.amount,
            "currency": v.price.currency,
            "attributes": msgspec.json.encode(v.attributes).decode(),
            "available": (available or {}).get(v.sku),
        }
        for p in products
        for v in p.variants
    ]


def test_a_listing_page_is_byte_for_byte_what_shopcore_encodes_for_the_same_products() -> None:
    products = [product(n) for n in (9, 8, 7)]  # newest first; one more than the page

    page = thin_app.page_of(rows_of(products), limit=2)

    expected = ProductPage(
        items=[ProductOut.of(p) for p in products[:2]],
        next_cursor=thin_app.encode_cursor(products[1].id),
    )
    assert msgspec.json.encode(page) == encode(expected)
    assert thin_app.decode_cursor(page.next_cursor or "") == products[1].id


def test_the_last_page_has_no_cursor() -> None:
    page = thin_app.page_of(rows_of([product(1)]), limit=20)

    assert page.next_cursor is None
    assert len(page.items) == 1


def test_a_product_page_carries_each_variants_units_available_as_shopcore_does() -> None:
    one = product(5)
    available = {"B-00005-M": 12, "B-00005-L": 0}

    found = thin_app.products_out(rows_of([one], available), available=True)

    assert msgspec.json.encode(found[0]) == encode(ProductOut.of(one, available))


@pytest.mark.parametrize(
    ("subtotal", "country"), [(1, "DE"), (4999, "DE"), (5000, "DE"), (19519, "FR"), (777, "US")]
)
def test_totals_follow_shopcores_shipping_and_tax_rules(subtotal: int, country: str) -> None:
    shipping = FlatRateShipping(Money(495, "EUR"), free_from=Money(5000, "EUR"))
    address = Address(
        name="A", line1="1 Main St", line2="", city="Berlin", postal_code="1", country=country
    )
    line = OrderLine(sku="S", name="S", quantity=1, unit_price=Money(subtotal, "EUR"))
    expected = compute_totals(
        [line],
        [],
        shipping.quote(Money(subtotal, "EUR"), address, 1),
        CountryTax(EU_STANDARD_RATES).rate(country),
        "EUR",
    )

    found = thin_app.totals(subtotal, country)

    assert (found.subtotal, found.shipping, found.tax, found.total) == (
        expected.subtotal.amount,
        expected.shipping.amount,
        expected.tax.amount,
        expected.total.amount,
    )


class Recorder:
    """An asyncpg connection that records what it is sent and answers as the database would
    for one open 3-line cart with stock enough (or not, for the SKUs in `short`)."""

    def __init__(self, *, short: frozenset[str] = frozenset(), claimed: bool = True) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []
        self.short = short
        self.claimed = claimed

    async def execute(self, query: str, *args: Any) -> str:
        self.sent.append((query, args))
        if query == thin_app.CLAIM_KEY:
            return "INSERT 0 1" if self.claimed else "INSERT 0 0"
        if query == thin_app.RESERVE:
            return "UPDATE 0" if args[0] in self.short else "UPDATE 1"
        return "UPDATE 1" if query.startswith("UPDATE") else "INSERT 0 1"

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        self.sent.append((query, args))
        assert query == thin_app.CLAIM_CART
        return [
            {
                "cart_currency": "EUR",
                "sku": sku,
                "quantity": 1,
                "price_amount": 1000,
                "currency": "EUR",
                "name": f"Product {sku}",
                "status": "active",
            }
            for sku in ("A-1", "B-2", "C-3")
        ]

    async def fetchrow(self, query: str, *args: Any) -> dict[str, Any] | None:
        self.sent.append((query, args))
        if query == thin_app.KEY_OF:
            return {"request_hash": "another", "order_id": "o"}
        return None

    def transaction(self) -> Recorder:
        return self

    async def __aenter__(self) -> None:
        self.sent.append(("BEGIN", ()))

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sent.append(("ROLLBACK" if kind else "COMMIT", ()))

    def statements(self) -> list[str]:
        return [query for query, _ in self.sent]


def checkout_in(token: str = "tok_visa") -> thin_app.CheckoutIn:
    body = (CHECKOUT_BODY % "cart-1").replace("tok_visa", token)
    return msgspec.json.decode(body, type=thin_app.CheckoutIn)


async def test_pgbench_replays_the_statements_of_a_checkout_in_the_order_the_app_sends_them() -> (
    None
):
    conn = Recorder()

    answer = await thin_app.place_order(conn, CUSTOMER, "key-1", "hash", checkout_in())

    steps = thin_pgbench.checkout_steps(
        ["'A-1'", "'B-2'", "'C-3'"], customer=CUSTOMER, cart_prefix="pgbt"
    )
    assert answer.status == 201
    assert conn.statements() == [step.sql for step in steps]
    for (query, args), step in zip(conn.sent, steps, strict=True):
        numbered = {int(n) for n in re.findall(r"\$(\d+)", query)}
        assert len(args) == len(step.args) == max(numbered, default=0), query


async def test_lines_are_reserved_and_allocated_in_sku_order() -> None:
    conn = Recorder()

    await thin_app.place_order(conn, CUSTOMER, "key-1", "hash", checkout_in())

    reserved = [args[0] for query, args in conn.sent if query == thin_app.RESERVE]
    allocated = [args[0] for query, args in conn.sent if query == thin_app.ALLOCATE]
    assert reserved == allocated == ["A-1", "B-2", "C-3"]


async def test_a_line_out_of_stock_rolls_the_reservation_back_and_frees_the_key() -> None:
    conn = Recorder(short=frozenset({"B-2"}))

    answer = await thin_app.place_order(conn, CUSTOMER, "key-1", "hash", checkout_in())

    problem = msgspec.json.decode(answer.body)
    assert (answer.status, problem["code"], problem["skus"]) == (409, "out-of-stock", ["B-2"])
    assert conn.statements()[-2:] == ["ROLLBACK", thin_app.FREE_KEY]
    assert thin_app.INSERT_ORDER not in conn.statements()


async def test_a_declined_card_hands_the_stock_and_the_cart_back() -> None:
    conn = Recorder()

    answer = await thin_app.place_order(conn, CUSTOMER, "key-1", "hash", checkout_in("tok_decline"))

    sent = conn.statements()
    assert answer.status == 402
    assert [args[0] for query, args in conn.sent if query == thin_app.RELEASE] == [
        "A-1",
        "B-2",
        "C-3",
    ]
    assert {thin_app.FAIL_ORDER, thin_app.REOPEN_CART} <= set(sent)
    assert thin_app.ALLOCATE not in sent
    assert sent[-1] == thin_app.FREE_KEY


async def test_a_key_used_for_another_request_is_refused_without_touching_stock() -> None:
    conn = Recorder(claimed=False)

    answer = await thin_app.place_order(conn, CUSTOMER, "key-1", "hash", checkout_in())

    assert answer.status == 422
    assert conn.statements() == [thin_app.CLAIM_KEY, thin_app.KEY_OF]


def test_the_order_answer_has_the_shape_of_shopcores_order() -> None:
    order = thin_app.Placed(
        "o-1",
        CUSTOMER,
        "cart-1",
        "EUR",
        [thin_app.Line("A-1", "Product", 2, 1200)],
        thin_app.totals(2400, "DE"),
        thin_app.AddressOut("Ada", "12 Street", "", "London", "N1", "GB"),
        NOW,
    )

    answer = msgspec.json.encode(thin_app.order_out(order, "confirmed", NOW))

    assert shapes.compare(msgspec.json.encode(ORDER_SAMPLE), answer) == []


def test_the_pgbench_script_has_every_parameter_filled_and_each_checkout_its_own_ids() -> None:
    script = thin_pgbench.checkout_script(CUSTOMER, "pgbt", 10_000)
    lines = script.splitlines()

    assert lines[:4] == [
        "\\set n :n + 1",
        "\\set s0 random(0, 3332)",
        "\\set s1 random(3333, 6665)",
        "\\set s2 random(6666, 9998)",
    ]
    assert not re.search(r"\$\d", script)
    assert all(line.endswith(";") for line in lines[4:])
    assert lines[4:].count("BEGIN;") == lines[4:].count("COMMIT;") == 2
    assert "('pgbt-' || :client_id || '-' || :n)" in lines[6]  # the cart claimed
    assert "('pgbt-o-' || :client_id || '-' || :n)" in lines[4]  # the order id, with the key


def test_the_flash_script_sells_the_hot_row() -> None:
    script = thin_pgbench.flash_script(CUSTOMER, "pgbtf", "FLASH-1")

    reserve = [line for line in script.splitlines() if "reserved + 1" in line]
    assert reserve == [
        "UPDATE stock SET reserved = reserved + 1 "
        "WHERE sku = 'FLASH-1' AND on_hand - reserved - allocated >= 1;"
    ]
