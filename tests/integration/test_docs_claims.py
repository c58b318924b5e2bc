"""The requirements, failure-modes, threat-model and data-lifecycle pages say what the code does
today, gaps included.

Each claim is a phrase on a page and a check of the code that makes it true. The phrase must be
on its page (rewording the claim means rewording its check here), and while it is there the
check must hold: a page that says a feature is missing fails here once the code grows it, and
the figure the sizing rests on (events per checkout) is counted from the code itself.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.db import tables
from shopcore import ReceiveStock, ShipOrder
from tests.support.driver import build_driver

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _text(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- what deletes rows ------------------------------------------------------------------------

# Tables some adapter deletes from today, and why: the data-lifecycle page names these and says
# every other table is never pruned.
DELETED_TODAY = {
    "outbox": "the relay prunes rows confirmed a week ago",
    "idempotency_keys": "a record given up after a 5xx",
    "product_variants": "a product's variants replaced when it is edited",
    "reservations": "a reservation refused for stock, in its own transaction",
    "dead_letters": "a letter replayed by `shopcore dead-letters replay`",
}


def _table_names(node: ast.expr, aliases: dict[str, str]) -> list[str]:
    if isinstance(node, ast.Attribute) and node.attr in tables.metadata.tables:
        return [node.attr]
    if isinstance(node, ast.Name):
        name = aliases.get(node.id, node.id)
        return [name] if name in tables.metadata.tables else []
    return []


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local names of tables: `from adapters.db.tables import x as y`, `y = tables.x`,
    `a, b = x, tables.y`."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "adapters.db.tables":
            for alias in node.names:
                found[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                pairs: list[tuple[ast.expr, ast.expr]] = []
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts, strict=False))
                else:
                    pairs = [(target, node.value)]
                for left, right in pairs:
                    names = _table_names(right, found)
                    if isinstance(left, ast.Name) and names:
                        found[left.id] = names[0]
    return found


def deleted_tables() -> dict[str, list[str]]:
    """Every table a `delete(table)`, `table.delete()` or `DELETE FROM table` in src/ or apps/
    (migrations aside) deletes from, with the files that do it."""
    found: dict[str, list[str]] = {}
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "apps").rglob("*.py")]
    for path in files:
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        aliases = _aliases(tree)
        names: list[str] = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Name) and function.id == "delete" and node.args:
                names += _table_names(node.args[0], aliases)
            elif isinstance(function, ast.Attribute) and function.attr == "delete":
                names += _table_names(function.value, aliases)
        names += re.findall(r"DELETE\s+FROM\s+(\w+)", source, re.IGNORECASE)
        for name in names:
            if name in tables.metadata.tables:
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_row_deletions_are_the_ones_the_data_lifecycle_page_names() -> None:
    found = deleted_tables()
    assert set(DELETED_TODAY) <= set(found), (
        f"the search for deletions lost some it knew: {set(DELETED_TODAY) - set(found)}"
    )
    new = {name: where for name, where in found.items() if name not in DELETED_TODAY}
    assert not new, (
        f"rows of {sorted(new)} are deleted now ({new}): docs/operations/data-lifecycle.md says "
        "they never are; update its retention table and DELETED_TODAY"
    )


# -- events per checkout ----------------------------------------------------------------------


async def test_a_three_line_checkout_emits_eight_events_and_its_shipment_five() -> None:
    """docs/architecture/requirements.md sizes the worker on 2N + 2 events a checkout of N
    SKUs (8 for the bench's 3-line cart) and N + 2 a shipment."""
    driver = build_driver()
    try:
        skus = ("REQ-A", "REQ-B", "REQ-C")
        await driver.product(*skus)
        for sku in skus:
            await driver.handle(ReceiveStock(sku=sku, quantity=10))
        customer = await driver.customer()
        cart = await driver.cart(customer, dict.fromkeys(skus, 1))
        before = len(driver.store.outbox)
        order = await driver.checkout(customer, cart)
        at_checkout = [type(event).__name__ for event in driver.store.outbox[before:]]
        shipped_from = len(driver.store.outbox)
        await driver.handle(ShipOrder(order_id=order.id))
        at_shipment = [type(event).__name__ for event in driver.store.outbox[shipped_from:]]
    finally:
        await driver.close()

    assert sorted(at_checkout) == sorted(
        ["StockChanged"] * 6 + ["PaymentAuthorized", "OrderPlaced"]
    ), at_checkout
    assert sorted(at_shipment) == sorted(
        ["StockChanged"] * 3 + ["PaymentCaptured", "OrderShipped"]
    ), at_shipment
    page = _flat((DOCS / "architecture" / "requirements.md").read_text(encoding="utf-8"))
    assert "a 3-line checkout makes **8 events**" in page
    assert "Shipping a 3-line order adds 5" in page


# -- gaps the pages name ------------------------------------------------------------------------


def _one_jwt_key_without_kid() -> bool:
    source = _text("src/adapters/http/security.py")
    return "kid" not in source and 'ALGORITHM = "HS256"' in source


def _no_export_or_erasure_route() -> bool:
    document = json.loads(_text("openapi/openapi.json"))
    for path, operations in document["paths"].items():
        if "export" in path or "erase" in path:
            return False
        if path.startswith("/v1/customers") and "delete" in operations:
            return False
    return True


def _no_backup_in_deploy() -> bool:
    words = ("pg_dump", "pg_basebackup", "pgbackrest", "wal-g", "archive_command", "barman")
    texts = [
        path.read_text(encoding="utf-8").lower()
        for path in (ROOT / "deploy").rglob("*")
        if path.is_file()
    ]
    return not any(word in text for text in texts for word in words)


def _shipped_urls_without_tls() -> bool:
    urls = _text("deploy/compose.yaml") + _text("deploy/k8s/base/secret.yaml")
    return "ssl=" not in urls and "rediss://" not in urls


# (page, phrase that makes the claim, what must still be true while the phrase is there)
CLAIMS: list[tuple[str, str, Callable[[], bool]]] = [
    ("operations/threat-model.md", "tokens carry no `kid`", _one_jwt_key_without_kid),
    (
        "operations/threat-model.md",
        "**gap**: the shipped deployments use no TLS to either",
        _shipped_urls_without_tls,
    ),
    (
        "operations/data-lifecycle.md",
        "no route and no command gathers a customer's data",
        _no_export_or_erasure_route,
    ),
    (
        "operations/data-lifecycle.md",
        "no route and no command deletes or anonymises a customer",
        _no_export_or_erasure_route,
    ),
    (
        "operations/data-lifecycle.md",
        "no base backup, WAL archiving, restore procedure or restore test",
        _no_backup_in_deploy,
    ),
]


@pytest.mark.parametrize(("page", "phrase", "still_true"), CLAIMS, ids=[c[1] for c in CLAIMS])
def test_a_gap_the_pages_name_is_still_a_gap(
    page: str, phrase: str, still_true: Callable[[], bool]
) -> None:
    text = _flat((DOCS / page).read_text(encoding="utf-8"))
    assert _flat(phrase) in text, f"docs/{page} no longer says {phrase!r}: update its claim here"
    assert still_true(), f"docs/{page} says {phrase!r}, which the code no longer bears out"


# -- the technology page and decision 0003's measured brokers ---------------------------------


def _technology() -> str:
    return _text("docs/architecture/technology.md")


def test_every_setting_the_technology_page_names_exists() -> None:
    named = set(re.findall(r"`(SHOPCORE_[A-Z_]+)`", _technology()))
    settings = _text("docs/reference/settings.md")
    assert named, "the page names no setting: this check checks nothing"
    missing = sorted(name for name in named if f"`{name}`" not in settings)
    assert not missing, f"docs/architecture/technology.md names unknown settings {missing}"


def test_every_file_the_technology_page_names_exists() -> None:
    named = set(re.findall(r"`((?:src|bench|apps)/[\w./-]+)`", _technology()))
    assert named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"docs/architecture/technology.md names missing files {missing}"


def test_every_table_and_column_the_store_today_column_names_exists() -> None:
    page = _technology()
    matrix = page[page.index("## The matrix") : page.index("## Python")]
    rows = [line.split(" | ") for line in matrix.splitlines() if line.startswith("| ")][2:]
    named = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row[1])}
    columns = {column.name for table in tables.metadata.tables.values() for column in table.c}
    known = set(tables.metadata.tables) | columns | {"simulated_gateway_"}  # the gateway's family
    assert {"products", "stock_levels", "carts", "outbox", "search_text"} <= named
    missing = sorted(named - known)
    assert not missing, f"docs/architecture/technology.md names unknown tables {missing}"


# Figures the technology page quotes from the bench's last run: each must be in bench/README.md.
BENCH_FIGURES = [
    "10.4 CPU ms",
    "1.4 CPU ms",
    "7.22x",
    "530.7 orders/s",
    "1,114.8 orders/s",
    "89.4 orders/s",
    "32,700",
]


@pytest.mark.parametrize("figure", BENCH_FIGURES)
def test_the_bench_figures_the_technology_page_quotes_are_the_bench_readmes(figure: str) -> None:
    page = _flat(_technology()).replace(" ms of CPU", " CPU ms")
    assert figure.split()[0] in page, f"the technology page no longer quotes {figure}"
    assert figure in _text("bench/README.md"), f"bench/README.md no longer says {figure}"


def test_decision_0003_quotes_the_last_broker_run() -> None:
    """The table in decision 0003 is the one `python -m bench.brokers` wrote, with its date and
    load average: a new run means new figures in the decision, not a stale copy."""
    from bench.brokers.__main__ import NAMES
    from bench.brokers.report import table

    decision = _text("docs/decisions/0003-outbox-redis-streams.md")
    for name in ("latest", "previous"):
        run = json.loads(_text(f"bench/brokers/results/{name}.json"))
        rendered = table(run["results"], NAMES["redis"], run["settings"]["rates"])
        assert rendered in decision, f"decision 0003's table is not the {name} run's"
        assert run["date"] in decision
        assert str(run["load_before"][0]) in decision and str(run["load_after"][0]) in decision
        assert rendered in _text(f"bench/brokers/results/{name}.md")
    assert "No benchmark" not in decision
