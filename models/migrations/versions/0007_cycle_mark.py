"""cycle_mark: what the last cycle computed from, and its XmR chart state, for the incremental cycle

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cycle_mark',
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('inputs', sa.Text(), nullable=False),
        sa.Column('chart_series', sa.LargeBinary(), nullable=False),
        sa.Column('chart_tail', sa.LargeBinary(), nullable=False),
        sa.Column('chart_points', sa.LargeBinary(), nullable=False),
        sa.Column('chart_values', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('la_code'),
    )


def downgrade() -> None:
    op.drop_table('cycle_mark')
