"""The requirements, failure-modes, threat-model and data-lifecycle pages say what the code does
today, gaps included.

Each claim is a phrase on a page and a check of the code that makes it true. The phrase must be
on its page (rewording the claim means rewording its check here), and while it is there the
check must hold: a page that says a feature is missing fails here once the code grows it, and
the figure the sizing rests on (events per checkout) is counted from the code itself. The
architecture diagrams are held to the code too: every route they name is served, every command,
event, class and field a sequence names is defined, and the idempotency keys they show are sent.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.db import tables
from shopcore import ReceiveStock, ShipOrder
from shopcore.cart.model import CHECKOUT_HOLD, Cart, CartLine, CartStatus, Quote
from shopcore.shared.errors import ShopError
from shopcore.shared.messages import Event
from shopcore.shared.money import Money
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
    "reservation_lines": "the lines of a reservation refused for stock, with it",
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


async def test_a_three_line_checkout_emits_five_events_and_its_shipment_five() -> None:
    """docs/architecture/requirements.md sizes the worker on N + 2 events a checkout of N
    SKUs (5 for the bench's 3-line cart) and N + 2 a shipment."""
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
        ["StockChanged"] * 3 + ["PaymentAuthorized", "OrderPlaced"]
    ), at_checkout
    assert sorted(at_shipment) == sorted(
        ["StockChanged"] * 3 + ["PaymentCaptured", "OrderShipped"]
    ), at_shipment
    page = _flat((DOCS / "architecture" / "requirements.md").read_text(encoding="utf-8"))
    assert "a 3-line checkout makes **5 events**" in page
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


# -- what the diagrams name ---------------------------------------------------------------------

MERMAID = re.compile(r"^```mermaid\n(.*?)^```$", re.DOTALL | re.MULTILINE)
ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/[\w{}/.-]*\w[}]?)")
CAMEL = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")
METHOD = re.compile(r"\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)\.([a-z_]\w*)\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Names in the diagrams that are products, not code.
NOT_CODE = {"PostgreSQL", "SQLite"}


def _diagrams(page: str, kind: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [block for block in MERMAID.findall(text) if block.startswith(kind)]


def _sources() -> dict[Path, str]:
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "apps").rglob("*.py")]
    return {path: path.read_text(encoding="utf-8") for path in files}


def _shape(path: str) -> str:
    """A route with its parameters' names left out: `{id}` and `{order_id}` are one route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_the_architecture_pages_name_is_in_the_api_document() -> None:
    document = json.loads(_text("openapi/openapi.json"))
    served = {
        (method.upper(), _shape(path))
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    named = {
        (page.name, method, path)
        for page in sorted((DOCS / "architecture").glob("*.md"))
        for method, path in ROUTE.findall(page.read_text(encoding="utf-8"))
    }
    assert len(named) > 10, named
    missing = sorted(
        f"{page}: {method} {path}"
        for page, method, path in named
        if (method, _shape(path)) not in served
    )
    assert not missing, "routes the pages name that the API does not serve:\n" + "\n".join(missing)


def test_every_name_in_a_sequence_diagram_is_in_the_code() -> None:
    """Commands, events, errors, controllers and their methods, and snake_case names (handlers,
    columns, fields): a rename in the code must rename them on the sequences page too."""
    sources = _sources()
    classes = {
        match.group(1): path
        for path, text in sources.items()
        for match in re.finditer(r"^\s*class (\w+)\b", text, re.MULTILINE)
    }
    words = set(re.findall(r"\w+", "\n".join(sources.values())))
    diagrams = _diagrams("architecture/sequences.md", "sequenceDiagram")
    assert len(diagrams) >= 12, f"{len(diagrams)} sequence diagrams"
    text = "\n".join(diagrams)
    unknown = sorted({name for name in CAMEL.findall(text) if name not in classes} - NOT_CODE)
    unknown += sorted(
        f"{owner}.{method}"
        for owner, method in set(METHOD.findall(text))
        if owner in classes and not re.search(rf"def {method}\(", sources[classes[owner]])
    )
    unknown += sorted({name for name in SNAKE.findall(text) if name not in words})
    assert not unknown, "names the sequence diagrams use that the code does not:\n" + "\n".join(
        unknown
    )


def test_the_idempotency_keys_the_sequences_name_are_the_ones_the_code_sends() -> None:
    """`"<order id>:capture"` on the page is `f"{order_id}:capture"` in the code."""
    text = _text("docs/architecture/sequences.md")
    code = "\n".join(_sources().values())
    suffixes = set(re.findall(r'"<order id>:(\w+)', text))
    assert {"authorize", "void", "capture", "refund"} <= suffixes, suffixes
    missing = sorted(s for s in suffixes if not re.search(rf"\{{[\w.]*order_id\}}:{s}\b", code))
    assert not missing, f"keys the code does not send: {missing}"


def test_every_event_the_sequences_say_is_committed_is_one_the_code_emits() -> None:
    """`+ OrderShipped` after a commit on the page: an Event subclass, and raised somewhere."""

    def subclasses(kind: type[Event]) -> set[str]:
        found = {kind.__name__}
        for sub in kind.__subclasses__():
            found |= subclasses(sub)
        return found

    # `shopcore` (imported above) loads every context's events.
    events = subclasses(Event)
    text = "\n".join(_diagrams("architecture/sequences.md", "sequenceDiagram"))
    named = set(re.findall(r"\+ ([A-Z][a-z]\w*)", text)) | set(
        re.findall(r"delivers ([A-Z][a-z]\w*)", text)
    )
    code = "\n".join(_sources().values())
    assert named, "the page names no committed events"
    not_events = sorted(name for name in named if name not in events)
    never = sorted(name for name in named if not re.search(rf"\b{name}\(", code))
    assert not not_events, f"not events: {not_events}"
    assert not never, f"events nothing raises: {never}"


# -- the cart's lifecycle -----------------------------------------------------------------------

_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_PRICE = Money(1200, "EUR")
_QUOTE = Quote(sku="A", name="A", price=_PRICE, sellable=True)


def _cart(status: CartStatus, *, held_since: datetime | None = None) -> Cart:
    line = CartLine(sku="A", name="A", quantity=1, unit_price=_PRICE)
    holding = status in (CartStatus.CHECKING_OUT, CartStatus.CHECKED_OUT)
    return Cart(
        id="cart",
        customer_id="ada",
        token_hash=None,
        currency="EUR",
        lines=[line],
        status=status,
        created_at=_NOW,
        updated_at=_NOW,
        order_id="first-order" if holding else None,
        checkout_started_at=held_since if holding else None,
    )


def _moves(cart: Cart) -> set[str]:
    """`cart`'s status after each thing that can be done to it, wherever it is allowed and
    changes the cart."""
    later = _NOW + CHECKOUT_HOLD + timedelta(seconds=1)
    steps: list[Callable[[Cart], object]] = [
        lambda c: c.add(_QUOTE, 1, _NOW),
        lambda c: c.set_quantity(_QUOTE, 2, _NOW),
        lambda c: c.remove("A", _NOW),
        lambda c: _cart(CartStatus.OPEN).absorb(c, {"A": _QUOTE}, _NOW),  # c is the anonymous one
        lambda c: c.absorb(_cart(CartStatus.OPEN), {"A": _QUOTE}, _NOW),  # c is the customer's
        lambda c: c.begin_checkout("next-order", later, CHECKOUT_HOLD),
        lambda c: c.complete_checkout("first-order", _NOW),
        lambda c: c.abandon_checkout("first-order", _NOW),
    ]
    found = set()
    for step in steps:
        copy = _cart(cart.status, held_since=cart.checkout_started_at)
        try:
            step(copy)
        except ShopError:
            continue
        # A method that changes nothing (abandoning a checkout that does not hold the cart,
        # completing one twice) is allowed but no move.
        if copy != _cart(cart.status, held_since=cart.checkout_started_at):
            found.add(copy.status.value)
    return found


def test_the_cart_moves_exactly_as_its_diagram_shows() -> None:
    page = (DOCS / "architecture" / "state-machines.md").read_text(encoding="utf-8")
    section = page.split("## Cart", 1)[1].split("\n## ", 1)[0]
    (diagram,) = MERMAID.findall(section)
    drawn = {
        (source, target)
        for source, target in re.findall(r"^\s+(\w+) --> (\w+)", diagram, re.MULTILINE)
        if target != "[*]"
    }
    done = set()
    for status in CartStatus:
        # A hold that lapsed an hour ago, which a later checkout may take over.
        cart = _cart(status, held_since=_NOW - timedelta(hours=1))
        done |= {(status.value, target) for target in _moves(cart)}
    assert {state.value for state in CartStatus} == set(re.findall(r"\b(\w+) -->", diagram))
    assert drawn == done, f"drawn only: {drawn - done}, done only: {done - drawn}"


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
    "4.5 CPU ms",
    "2.0 CPU ms",
    "2.29x",
    "3.1 CPU ms",
    "1.9 CPU ms",
    "1.61x",
    "400.4 orders/s",
    "865.9 orders/s",
    "202.4 orders/s",
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
