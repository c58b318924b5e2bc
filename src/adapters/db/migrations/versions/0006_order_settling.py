"""order settling

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders whose multi-step work is under way carry the moment it must be done by: the
    # recovery job reads them by that moment.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settle_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_settle_by"), ["settle_by"], unique=False)
    # An idempotency key may name what its request creates (a checkout's order), so a retry
    # after the request died is answered from it.
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("resource")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_settle_by"))
        batch_op.drop_column("settle_by")
