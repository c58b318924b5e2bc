"""The ceiling for checkout: the very statements the app sends, replayed by pgbench.

A checkout runs once through the real app (in this process, on the bench database) with
SQLAlchemy's `before_cursor_execute`, `begin`, `commit` and `rollback` events recording every
statement with its parameters and every transaction boundary. A statement on a connection in
AUTOCOMMIT (reads before a unit's first write, single-statement commits, idempotency keys on
PostgreSQL) is recorded as the app sends it: alone, without BEGIN and COMMIT, for which
SQLAlchemy still fires its events but sends nothing. The recording becomes a pgbench
script: the same transactions, the same statements in the same order (executemany batches as
pipelines, the way asyncpg sends them), with the values that must differ per checkout made
into pgbench variables:

- every id the checkout generated (order, reservation, payment, event ids, idempotency key)
  becomes `'pgb<k>-' || :client_id || '-' || :n`, where `n` counts each client's checkouts,
  also where it is part of a longer value (the gateway's `<order id>:authorize` keys, its
  `ch_<id>` references);
- the cart becomes `'pgbc-' || :client_id || '-' || :n`, one of the open carts copied from the
  recorded cart before the recording (so each pgbench checkout, like each API checkout, moves
  a fresh cart through its version-checked updates);
- for the 3-line checkout each SKU becomes a random SKU of the catalog, drawn from three
  disjoint ranges so that the three rows are still touched in SKU order (as the app does, so
  pgbench clients cannot deadlock); for the flash sale the one SKU is the hot row.

JSON documents (cart and order bodies, outbox payloads) stay the recorded literals.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import config

_PARAM = re.compile(r"\$(\d+)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Statement:
    sql: str
    params: list[tuple[Any, ...]]  # one tuple, or one per row of an executemany
    many: bool


@dataclass
class Transaction:
    statements: list[Statement] = field(default_factory=list)
    end: str = "COMMIT"
    autocommit: bool = False  # one statement sent on its own, no BEGIN or COMMIT


@dataclass
class Recording:
    transactions: list[Transaction] = field(default_factory=list)
    # The transaction open on each driver connection (by id), while it is open.
    _open: dict[int, Transaction] = field(default_factory=dict)

    def statement_count(self) -> int:
        return sum(len(t.statements) for t in self.transactions)

    def transaction_count(self) -> int:
        """Transactions with BEGIN and COMMIT/ROLLBACK (autocommit statements not counted)."""
        return sum(1 for t in self.transactions if not t.autocommit)

    def autocommit_count(self) -> int:
        return sum(len(t.statements) for t in self.transactions if t.autocommit)

    def round_trips(self) -> int:
        """BEGIN, each statement (an executemany is one pipelined trip) and COMMIT/ROLLBACK;
        an autocommit statement is one trip."""
        return sum(len(t.statements) + (0 if t.autocommit else 2) for t in self.transactions)

    def tables_written(self) -> list[str]:
        found = []
        for t in self.transactions:
            for s in t.statements:
                m = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", s.sql)
                if m:
                    found.append(f"{m.group(1).split()[0]} {m.group(2)}")
        return found

    def _statement(self, connection: int, recorded: Statement) -> None:
        """Into the transaction open on `connection`, or alone (autocommit)."""
        if connection in self._open:
            self._open[connection].statements.append(recorded)
        else:
            self.transactions.append(Transaction([recorded], end="", autocommit=True))

    def _begin(self, connection: int) -> None:
        # SQLAlchemy's `begin` event comes first, its BEGIN to asyncpg after the statement's
        # `before_cursor_execute`: one transaction for both.
        self._open.setdefault(connection, Transaction())

    def _end(self, connection: int, kind: str) -> None:
        txn = self._open.pop(connection, None)
        if txn is not None and txn.statements:
            txn.end = kind
            self.transactions.append(txn)


_BOUNDARIES = {"BEGIN": "", "COMMIT": "COMMIT", "ROLLBACK": "ROLLBACK"}


@contextmanager
def recording() -> Iterator[Recording]:
    """Every statement and transaction boundary sent while it is open: through SQLAlchemy (its
    events), and to asyncpg itself (adapters/db/driver_statements.py sends the unit of work's
    statements and its BEGIN, COMMIT and ROLLBACK there; SQLAlchemy's events do not see them),
    each in the transaction open on its connection."""
    import asyncpg

    rec = Recording()

    def key(conn: Any) -> int:
        return id(conn.connection.driver_connection)

    def autocommit(conn: Any) -> bool:
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        if many and conn.dialect.driver == "asyncpg":
            return  # SQLAlchemy hands it to asyncpg's executemany, recorded below
        rows = list(params) if many else [params]
        rec._statement(key(conn), Statement(statement, [tuple(r) for r in rows], many))

    def begin(conn: Any) -> None:
        if not autocommit(conn):
            rec._begin(key(conn))

    def end(kind: str):
        def finish(conn: Any) -> None:
            if not autocommit(conn):
                rec._end(key(conn), kind)

        return finish

    # asyncpg's own entry points, for what is sent to it directly. SQLAlchemy's statements
    # reach asyncpg through prepared statements, not these; its BEGIN and COMMIT do come
    # through `execute`, and open or close the same transaction its events do.
    connection_class = asyncpg.connection.Connection
    originals = {name: getattr(connection_class, name) for name in ("execute", "fetch")}
    originals["executemany"] = connection_class.executemany

    async def execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        word = query.strip().rstrip(";").split(" ", 1)[0].upper()  # "BEGIN ISOLATION ..."
        if word in _BOUNDARIES and not args:
            if word == "BEGIN":
                rec._begin(id(self))
            else:
                rec._end(id(self), _BOUNDARIES[word])
        else:
            rec._statement(id(self), Statement(query, [tuple(args)], False))
        return await originals["execute"](self, query, *args, **kwargs)

    async def fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        rec._statement(id(self), Statement(query, [tuple(args)], False))
        return await originals["fetch"](self, query, *args, **kwargs)

    async def executemany(self: Any, command: str, args: Any, **kwargs: Any) -> Any:
        rows = [tuple(row) for row in args]
        rec._statement(id(self), Statement(command, rows, True))
        return await originals["executemany"](self, command, rows, **kwargs)

    commit, rollback = end("COMMIT"), end("ROLLBACK")
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "begin", begin)
    event.listen(Engine, "commit", commit)
    event.listen(Engine, "rollback", rollback)
    connection_class.execute = execute
    connection_class.fetch = fetch
    connection_class.executemany = executemany
    try:
        yield rec
    finally:
        for name, original in originals.items():
            setattr(connection_class, name, original)
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "begin", begin)
        event.remove(Engine, "commit", commit)
        event.remove(Engine, "rollback", rollback)


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return "'" + value.isoformat() + "'"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, bytes):
        value = value.decode()
    text = str(value)
    if ":" in text:
        # pgbench reads `:word` as a variable even inside a literal: spell colons \x3a.
        escaped = text.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a")
        return "E'" + escaped + "'"
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Rules:
    """How recorded values become per-transaction values in the pgbench script."""

    cart_id: str
    cart_prefix: str  # pgbench's copies of the cart are <prefix>-<client>-<n>
    keep: set[str]  # ids that stay literal (the customer)
    skus: dict[str, str]  # recorded SKU -> SQL expression
    header: list[str] = field(default_factory=list)  # \set lines
    _ids: dict[str, str] = field(default_factory=dict)

    def render(self, value: Any) -> str:
        if isinstance(value, list | tuple):  # an array argument (the stock take's rows)
            return "ARRAY[" + ", ".join(self.render(item) for item in value) + "]"
        if isinstance(value, str):
            if value == self.cart_id:
                return f"('{self.cart_prefix}-' || :client_id || '-' || :n)"
            if value in self.skus:
                return self.skus[value]
            if not value.startswith(("{", "[")):
                ids = [m for m in _UUID.finditer(value) if m.group() not in self.keep]
                if ids:
                    return self._with_ids(value, ids)
        return literal(value)

    def _with_ids(self, value: str, ids: list[re.Match[str]]) -> str:
        """`value` with each generated id in it made per-transaction: an id alone, or inside a
        key or reference (`<order id>:authorize`, `ch_<id>`), which the database keeps unique
        as well."""
        parts: list[str] = []
        at = 0
        for match in ids:
            if match.start() > at:
                parts.append(literal(value[at : match.start()]))
            tag = self._ids.setdefault(match.group(), f"pgb{len(self._ids)}")
            parts.append(f"('{tag}-' || :client_id || '-' || :n)")
            at = match.end()
        if at < len(value):
            parts.append(literal(value[at:]))
        return "(" + " || ".join(parts) + ")"


def render_statement(statement: Statement, rules: Rules) -> list[str]:
    out = []
    for row in statement.params:

        def sub(match: re.Match[str], row: tuple[Any, ...] = row) -> str:
            return rules.render(row[int(match.group(1)) - 1])

        sql = _PARAM.sub(sub, statement.sql)
        out.append(" ".join(sql.split()) + ";")
    return out


def pgbench_script(rec: Recording, rules: Rules) -> str:
    lines = ["\\set n :n + 1", *rules.header]
    for txn in rec.transactions:
        if not txn.autocommit:
            lines.append("BEGIN;")
        for statement in txn.statements:
            rendered = render_statement(statement, rules)
            if statement.many and len(rendered) > 1:
                lines += ["\\startpipeline", *rendered, "\\endpipeline"]
            else:
                lines += rendered
        if not txn.autocommit:
            lines.append(f"{txn.end};")
    return "\n".join(lines) + "\n"


def three_line_skus(recorded: list[str], catalog_products: int) -> tuple[dict[str, str], list[str]]:
    """Each recorded SKU (sorted) -> a random catalog SKU from its own third of the catalog."""
    third = catalog_products // 3
    skus, header = {}, []
    for k, sku in enumerate(sorted(recorded)):
        lo, hi = k * third, (k + 1) * third - 1
        header.append(f"\\set s{k} random({lo}, {hi})")
        skus[sku] = f"('B-' || lpad(:s{k}::text, 5, '0') || '-M')"
    return skus, header


@dataclass
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    latency_ms: float
    raw: str


def run_pgbench(
    script: Path, *, clients: int, transactions: int, database: str = config.PG_DB
) -> PgbenchResult:
    argv = [
        "pgbench",
        "-h",
        config.PG_HOST,
        "-p",
        str(config.PG_PORT),
        "-U",
        config.PG_USER,
        "-n",
        "-M",
        "prepared",
        "-D",
        "n=0",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-t",
        str(transactions),
        "-f",
        str(script),
        database,
    ]
    done = subprocess.run(argv, capture_output=True, text=True)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{out[-3000:]}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))  # type: ignore[union-attr]
    processed = int(re.search(r"actually processed: (\d+)", out).group(1))  # type: ignore[union-attr]
    failed = re.search(r"number of failed transactions: (\d+)", out)
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))  # type: ignore[union-attr]
    return PgbenchResult(tps, processed, int(failed.group(1)) if failed else 0, latency, out)


def new_key() -> str:
    return str(uuid.uuid4())


CHECKOUT_BODY = (
    '{"cart_id":"%s","payment_token":"tok_visa","shipping_address":{"name":"Bench Buyer",'
    '"line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}'
)


async def post_checkout(client: Any, cart_id: str, access_token: str) -> Any:
    """One checkout of `cart_id` with the bench's body and a key of its own; the response."""
    return await client.post(
        "/v1/checkout",
        content=CHECKOUT_BODY % cart_id,
        headers={
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "Idempotency-Key": new_key(),
        },
    )


async def record_checkouts(
    carts: list[tuple[str, str]], token_for: dict[str, str]
) -> list[Recording]:
    """Check out each (customer, cart) through the app in this process; one recording each."""
    from litestar.testing import AsyncTestClient

    from apps.api import build_app
    from apps.components import Components
    from apps.settings import Settings

    app = build_app(Components(Settings.from_env(config.api_env())))
    recordings = []
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        for customer_id, cart_id in carts:
            with recording() as rec:
                response = await post_checkout(client, cart_id, token_for[customer_id])
            if response.status_code != 201:
                raise RuntimeError(
                    f"recorded checkout failed: {response.status_code} {response.text}"
                )
            recordings.append(rec)
    return recordings


async def copy_carts(template_cart_id: str, prefix: str, clients: int, per_client: int) -> None:
    """Open carts `<prefix>-<client>-<n>` for pgbench, copies of the template as it is now."""
    import asyncpg

    conn = await asyncpg.connect(config.ASYNCPG_DSN)
    try:
        await conn.execute("DELETE FROM carts WHERE id LIKE $1", f"{prefix}-%")
        await conn.execute(
            """
            INSERT INTO carts (id, version, customer_id, token_hash, currency, status, order_id,
                               body, created_at, updated_at, checkout_started_at)
            SELECT $4 || '-' || c || '-' || n, version, customer_id, token_hash, currency, status,
                   order_id, body, created_at, updated_at, checkout_started_at
            FROM carts, generate_series(0, $2::int - 1) c, generate_series(1, $3::int) n
            WHERE id = $1
            """,
            template_cart_id,
            clients,
            per_client,
            prefix,
        )
        await conn.execute("ANALYZE carts")
    finally:
        await conn.close()
