"""outbox trace context

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # With tracing on, each row keeps the W3C trace context of the request that wrote it, so
    # the worker's handling of the event continues that request's trace (apps/tracing.py).
    # Nullable and without a default: with tracing off nothing is written, and adding the
    # columns rewrites no row.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))
        batch_op.add_column(sa.Column("tracestate", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("tracestate")
        batch_op.drop_column("traceparent")
