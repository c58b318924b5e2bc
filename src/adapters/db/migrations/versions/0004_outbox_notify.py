"""outbox notify

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The channel `adapters.db.outbox_wakeup.OUTBOX_CHANNEL` listens on. Written out here: a
# migration must keep meaning what it meant when it ran.
_CHANNEL = "shopcore_outbox"


def upgrade() -> None:
    # PostgreSQL only: after every statement that inserts outbox rows, NOTIFY the relays. The
    # notification is delivered at commit (never for a rollback), and identical ones of one
    # transaction are folded into one, so a commit costs one notification whatever it wrote,
    # and every writer is covered without a round trip of its own. SQLite has no NOTIFY: its
    # relay polls.
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION shopcore_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"    PERFORM pg_notify('{_CHANNEL}', '');\n"
        "    RETURN NULL;\n"
        "END\n"
        "$$"
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION shopcore_outbox_notify()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS shopcore_outbox_notify()")
