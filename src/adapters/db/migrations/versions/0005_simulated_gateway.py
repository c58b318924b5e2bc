"""simulated gateway

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The test-mode card gateway's own books (adapters/db/simulated_gateway.py), kept in the
    # shop's database so that every API process and every restart sees one bank. Not the
    # shop's record of its payments, which is `payments`.
    op.create_table(
        "simulated_gateway_charges",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "captured >= 0 AND captured <= amount",
            name=op.f("ck_simulated_gateway_charges_captured_within_amount"),
        ),
        sa.CheckConstraint(
            "refunded >= 0 AND refunded <= captured",
            name=op.f("ck_simulated_gateway_charges_refunded_within_captured"),
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_simulated_gateway_charges")),
    )
    op.create_table(
        "simulated_gateway_answers",
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_simulated_gateway_answers")),
    )


def downgrade() -> None:
    op.drop_table("simulated_gateway_answers")
    op.drop_table("simulated_gateway_charges")
