"""The schema: each context owns its tables, and no foreign key crosses a context.

Scalar columns are what queries filter, sort or constrain on; nested value objects live in
one `body` document per row. Alembic migrations (migrations/) are checked against this file.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from adapters.db.types import Document, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(36)  # UUIDv7 text: sorts by creation time, so keyset pages can order by id

# -- catalog -------------------------------------------------------------------------------
products = Table(
    "products",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("slug", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    # name and description casefolded in Python: the text filter then matches non-ASCII
    # letters the same way on SQLite (whose lower() folds ASCII only) and PostgreSQL.
    Column("search_text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Listing: newest first within a category, and the storefront's sellable products.
    Index(None, "category", "id"),
    Index(None, "status", "id"),
)

product_variants = Table(
    "product_variants",
    metadata,
    Column("sku", String(64), primary_key=True),  # a SKU belongs to one variant, shop-wide
    Column("product_id", ID, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("price_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("attributes", Document, nullable=False),
    Index(None, "product_id", "position"),
    Index(None, "price_amount"),
)

# -- customers -----------------------------------------------------------------------------
customers = Table(
    "customers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("body", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One row per issued refresh token; only the token's SHA-256 is kept.
refresh_sessions = Table(
    "refresh_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("family_id", ID, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index(None, "family_id"),
    Index(None, "customer_id"),
)

# -- cart ----------------------------------------------------------------------------------
carts = Table(
    "carts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", ID),
    Column("token_hash", String(128)),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("order_id", ID),
    Column("body", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("checkout_started_at", UtcDateTime),
    Index(None, "customer_id", "status"),
)

# -- ordering ------------------------------------------------------------------------------
orders = Table(
    "orders",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("cart_id", ID, nullable=False),
    Column("status", String(30), nullable=False),
    Column("payment_id", ID),
    Column("total_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("body", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set while work on the order spans transactions: the recovery job's queue.
    Column("settle_by", UtcDateTime),
    # A customer's orders newest first; the back office's orders by status.
    Index(None, "customer_id", "id"),
    Index(None, "status", "id"),
    Index(None, "settle_by"),
)

# -- payments ------------------------------------------------------------------------------
payments = Table(
    "payments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("order_id", ID, nullable=False),
    Column("status", String(30), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("body", Document, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "order_id"),
)

# -- inventory -----------------------------------------------------------------------------
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    # Units held by reservation lines still marked `held`; lines of expired reservations are
    # un-held lazily by the next writer of the row, or by the sweeper.
    Column("reserved", BigInteger, nullable=False, server_default=text("0")),
    Column("allocated", BigInteger, nullable=False, server_default=text("0")),
    # The database itself refuses an oversell, whatever a bug in the code above tries.
    CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
    CheckConstraint("reserved >= 0", name="reserved_non_negative"),
    CheckConstraint("allocated >= 0", name="allocated_non_negative"),
    CheckConstraint("on_hand - reserved - allocated >= 0", name="available_non_negative"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "status", "expires_at"),  # the sweeper's and the lazy release's lookup
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column(
        "reservation_id",
        ID,
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # the reservation's own line order
    Column("quantity", BigInteger, nullable=False),
    Column("held", Boolean, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index(None, "sku", "location", "held"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("sku", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "sku", "id"),
)

# -- delivery ------------------------------------------------------------------------------
outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", ID, nullable=False, unique=True),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),  # the event as msgspec JSON, tag included
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),  # appended to the event stream
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Acknowledged by every consumer group: from then on a Redis that restarts empty need not
    # get the event again (adapters.machinery.outbox).
    Column("confirmed_at", UtcDateTime),
    # With tracing on, the W3C trace context of the transaction that wrote the row (a
    # `traceparent` is 55 characters; a `tracestate` past 512 may be cut by any hop, W3C): the
    # worker handling the event continues that trace. Null with tracing off.
    Column("traceparent", String(55)),
    Column("tracestate", String(512)),
)
# The relay's scan: unpublished rows in commit order, without reading the published ones.
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)
# The rewind after Redis lost the stream: the few rows not yet confirmed, not the week kept.
Index(
    "ix_outbox_unconfirmed",
    outbox.c.id,
    postgresql_where=outbox.c.confirmed_at.is_(None),
    sqlite_where=outbox.c.confirmed_at.is_(None),
)

# How far the relay has fed the event stream: the stream position of the last entry it marked
# published, written in the marking transaction. A Redis that comes back with an older copy of
# its data (a snapshot, or an append-only file a second behind) ends before this position: the
# relay then knows the stream lost entries the outbox counts as published. One row.
outbox_feed = Table(
    "outbox_feed",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("stream_position", String(50)),  # null: nothing published since the last rewind
    Column("updated_at", UtcDateTime, nullable=False),
)

# Events a consumer group gave up on (adapters.messaging.consumer), kept in the database so
# that Redis restarting empty does not lose them; one per group and event.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("group_name", String(100), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("message_id", String(50), nullable=False),  # the stream entry it was read from
    Column("deliveries", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("traceback", Text),
    Column("failed_at", UtcDateTime, nullable=False),
    UniqueConstraint("group_name", "event_id"),
)

# Which event handler has handled which event: written in the handler's own transaction, so a
# redelivered event is skipped (see shopcore.application.processed). `handler` is
# "<group>.<handler function>".
processed_events = Table(
    "processed_events",
    metadata,
    Column("handler", String(200), primary_key=True),
    Column("event_id", ID, primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index(None, "processed_at"),  # pruning old records
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(100), primary_key=True),  # who sent it: a customer id or "anonymous"
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # hash of method, path and body
    Column("resource", String(36)),  # what the request creates (an order id), if it says
    Column("status_code", Integer),  # null while the first request is still running
    Column("response", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)

# -- the simulated payment gateway ---------------------------------------------------------
# Not the shop's: the books of the test-mode card gateway (adapters/db/simulated_gateway.py),
# which lives in the shop's database only so that every API process and every restart sees
# the same bank. The shop's own record of its payments is `payments`.
simulated_gateway_charges = Table(
    "simulated_gateway_charges",
    metadata,
    Column("reference", String(64), primary_key=True),  # "ch_<uuid7>", as the gateway answered
    Column("amount", BigInteger, nullable=False),  # authorized, in minor units of `currency`
    Column("currency", String(3), nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("voided", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The bank's rules, kept by the database too, whatever a bug in the code tries.
    CheckConstraint("captured >= 0 AND captured <= amount", name="captured_within_amount"),
    CheckConstraint("refunded >= 0 AND refunded <= captured", name="refunded_within_captured"),
)

# The first answer to each idempotency key, inserted in the transaction that acts on the key:
# of two calls with one key, the later one's insert finds the row and replays its answer.
# `approved` and `message` are null only inside that transaction; no other sees them so.
simulated_gateway_answers = Table(
    "simulated_gateway_answers",
    metadata,
    # Any length: the port sets none (keys come from ids and from clients' own keys).
    Column("idempotency_key", Text, primary_key=True),
    Column("approved", Boolean),
    Column("reference", String(64)),
    Column("message", Text),
    Column("created_at", UtcDateTime, nullable=False),
)
