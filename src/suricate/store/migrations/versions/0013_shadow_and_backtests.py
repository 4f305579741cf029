"""shadow runs of a challenger, promotion, handler metrics, and replay backtests

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 15:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("feed", sa.String(length=16), server_default="live", nullable=False)
        )
        batch_op.add_column(sa.Column("run_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_actions_run_id"), ["run_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_actions_run_id_runs"), "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shadow", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("shadow_stats", sa.Text(), server_default="{}", nullable=False)
        )
        batch_op.add_column(sa.Column("metrics", sa.Text(), server_default="[]", nullable=False))

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backtest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("backtest")

    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.drop_column("metrics")
        batch_op.drop_column("shadow_stats")
        batch_op.drop_column("shadow")

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_actions_run_id_runs"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_actions_run_id"))
        batch_op.drop_column("run_id")
        batch_op.drop_column("feed")
