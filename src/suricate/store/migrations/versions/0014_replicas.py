"""ha: sessions in the database, frontends by heartbeat, the frontend driving each run,
the login throttle's memory

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 14:34:09.541340
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_login_attempts")),
    )
    op.create_table(
        "frontends",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frontends")),
    )
    op.create_table(
        "kernel_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("tenant_name", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("notebook_id", sa.String(length=32), nullable=True),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("token_ref", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("notebook_revision", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_kernel_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kernel_sessions")),
    )
    with op.batch_alter_table("kernel_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kernel_sessions_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kernel_sessions_token_ref"), ["token_ref"], unique=False
        )

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frontend", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("frontend")

    with op.batch_alter_table("kernel_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kernel_sessions_token_ref"))
        batch_op.drop_index(batch_op.f("ix_kernel_sessions_tenant_id"))

    op.drop_table("kernel_sessions")
    op.drop_table("frontends")
    op.drop_table("login_attempts")
