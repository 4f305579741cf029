"""quotas: per-tenant overrides, and kernel limits of runs and processors

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 11:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_quotas",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("sessions_per_user", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=True),
        sa.Column("processors", sa.Integer(), nullable=True),
        sa.Column("kernels", sa.Integer(), nullable=True),
        sa.Column("kernel_memory_mb", sa.Integer(), nullable=True),
        sa.Column("kernel_cpus", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_quotas_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_quotas")),
    )
    for table in ("runs", "processors"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("memory_mb", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("cpus", sa.Double(), nullable=True))


def downgrade() -> None:
    for table in ("processors", "runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("cpus")
            batch_op.drop_column("memory_mb")
    op.drop_table("tenant_quotas")
