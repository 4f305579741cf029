"""schedule triggers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 12:14:16.874135
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trigger", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("trigger_state", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("trigger_state")
        batch_op.drop_column("trigger")
