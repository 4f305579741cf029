"""appended rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 12:07:35.967575
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appended_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("row", sa.Text(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_appended_rows_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appended_rows")),
        sa.UniqueConstraint("tenant_id", "object_name", "key", name="uq_appended_rows_key"),
    )
    with op.batch_alter_table("appended_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appended_rows_pending", ["tenant_id", "object_name", "version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("appended_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_appended_rows_pending")

    op.drop_table("appended_rows")
