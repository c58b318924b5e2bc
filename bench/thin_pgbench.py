"""pgbench scripts that send the thin app's checkout, statement for statement: the database's
own pace for the thin app's SQL, a context row beside the thin app's figures.

The statements are `thin_app`'s constants, text unchanged, in the order `thin_app.place_order`
sends them for a checkout that sells (`tests/unit/test_bench_thin.py` runs `place_order` on a
recording connection and compares); each `$n` becomes a pgbench expression of the value the
app would send. Values that must differ per checkout are built from `:client_id` and `n` (each
client's checkout count): the idempotency key, the order, event and authorization ids, and
the cart, one of the open carts `thin_data.copy_carts` made (`<prefix>-<client>-<n>`). A
3-line checkout reserves three random catalog SKUs, one from each third of the catalog, so
they are locked in SKU order as the app does; the flash sale's one SKU is the hot row. Prices,
names and totals are literals (the app computes them in Python, from the cart's rows), and
the app's timestamps are `now()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from bench import thin_app
from bench.capture import literal, three_line_skus

_PARAM = re.compile(r"\$(\d+)")
BEGIN, COMMIT = "BEGIN", "COMMIT"
ADDRESS = thin_app.AddressOut("Bench Buyer", "1 Main St", "", "Berlin", "10115", "DE")
PRICE = 1000


@dataclass(frozen=True)
class Step:
    """One statement of the thin app, with the pgbench expression of each of its `$n`."""

    sql: str
    args: tuple[str, ...] = ()


def per_checkout(tag: str) -> str:
    """A value of its own for each checkout of each client."""
    return f"('{tag}-' || :client_id || '-' || :n)"


def _array(values: list[str]) -> str:
    return f"ARRAY[{', '.join(values)}]"  # the statement casts it


def checkout_steps(skus: list[str], *, customer: str, cart_prefix: str) -> list[Step]:
    """The statements of one checkout that sells, `skus` being SQL expressions in SKU order."""
    order, now = per_checkout(f"{cart_prefix}-o"), "now()"
    n = len(skus)
    totals = thin_app.totals(PRICE * n, ADDRESS.country)
    placed = literal(f'{{"type":"OrderPlaced","lines":[],"total":{totals.total}}}')
    confirmed = literal('{"type":"OrderConfirmed"}')
    return [
        Step(
            thin_app.CLAIM_KEY,
            (literal(customer), per_checkout(f"{cart_prefix}-k"), literal("0" * 64), order),
        ),
        Step(BEGIN),
        Step(thin_app.CLAIM_CART, (per_checkout(cart_prefix), literal(customer), order)),
        *[Step(thin_app.RESERVE, (sku, "1")) for sku in skus],
        Step(
            thin_app.INSERT_ORDER,
            (
                order,
                literal(customer),
                per_checkout(cart_prefix),
                str(totals.subtotal),
                str(totals.shipping),
                str(totals.tax),
                str(totals.total),
                literal("EUR"),
                literal(msgspec.json.encode(ADDRESS).decode()),
                now,
            ),
        ),
        Step(
            thin_app.INSERT_LINES,
            (
                order,
                _array([str(k + 1) for k in range(n)]),
                _array(skus),
                _array([literal("Bench product")] * n),
                _array(["1"] * n),
                _array([str(PRICE)] * n),
            ),
        ),
        Step(
            thin_app.OUTBOX,
            (per_checkout(f"{cart_prefix}-e1"), literal("OrderPlaced"), placed, now),
        ),
        Step(COMMIT),
        Step(BEGIN),
        *[Step(thin_app.ALLOCATE, (sku, "1")) for sku in skus],
        Step(thin_app.CONFIRM, (order, per_checkout(f"{cart_prefix}-a"), now)),
        Step(
            thin_app.OUTBOX,
            (per_checkout(f"{cart_prefix}-e2"), literal("OrderConfirmed"), confirmed, now),
        ),
        Step(COMMIT),
    ]


def render(steps: list[Step], header: list[str]) -> str:
    """The pgbench script: each statement on one line, its `$n` replaced by its expression."""
    lines = ["\\set n :n + 1", *header]
    for step in steps:

        def arg(match: re.Match[str], step: Step = step) -> str:
            return step.args[int(match.group(1)) - 1]

        lines.append(_PARAM.sub(arg, step.sql) + ";")
    return "\n".join(lines) + "\n"


def checkout_script(customer: str, cart_prefix: str, catalog_products: int) -> str:
    """A 3-line checkout on random catalog SKUs (one per third of the catalog, in order)."""
    exprs, header = three_line_skus(["0", "1", "2"], catalog_products)
    skus = [exprs[k] for k in sorted(exprs)]
    return render(checkout_steps(skus, customer=customer, cart_prefix=cart_prefix), header)


def flash_script(customer: str, cart_prefix: str, sku: str) -> str:
    """A 1-line checkout of the hot SKU."""
    steps = checkout_steps([literal(sku)], customer=customer, cart_prefix=cart_prefix)
    return render(steps, [])
