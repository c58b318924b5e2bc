"""outbox confirmed, outbox feed, dead letters

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Redis is no longer the record of delivery: an outbox row stays unconfirmed until every
    # consumer group has acknowledged its event, and a Redis that restarts empty gets the
    # unconfirmed ones again (adapters.machinery.outbox).
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    # Rows published before this revision were taken as delivered once Redis accepted them;
    # they keep that meaning rather than being published again on the first start.
    op.execute("UPDATE outbox SET confirmed_at = published_at WHERE published_at IS NOT NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_unconfirmed",
            ["id"],
            unique=False,
            postgresql_where=sa.text("confirmed_at IS NULL"),
            sqlite_where=sa.text("confirmed_at IS NULL"),
        )

    op.create_table(
        "outbox_feed",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stream_position", sa.String(length=50), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_feed")),
    )

    # Dead letters move from a Redis stream to the database, which survives a Redis restart.
    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=50), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint(
            "group_name", "event_id", name=op.f("uq_dead_letters_group_name_event_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("outbox_feed")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unconfirmed")
        batch_op.drop_column("confirmed_at")
