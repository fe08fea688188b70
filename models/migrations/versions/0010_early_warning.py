"""early_warning: each series' early-warning detector (model, threshold, EWMA, what it can detect)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'early_warning',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('expected', sa.Float(), nullable=True),
        sa.Column('ewma', sa.Float(), nullable=True),
        sa.Column('threshold', sa.Float(), nullable=True),
        sa.Column('flag', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('since', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column('observed_since', sa.Float(), nullable=True),
        sa.Column('expected_since', sa.Float(), nullable=True),
        sa.Column('return_years', sa.Float(), nullable=True),
        sa.Column('min_detectable_change', sa.Float(), nullable=True),
        sa.Column('promise', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('statement', sa.Text(), nullable=False),
        sa.Column('months', sa.Integer(), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('early_warning', schema=None) as batch_op:
        batch_op.create_index('uq_early_warning', ['la_code', 'indicator', 'breakdown'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('early_warning', schema=None) as batch_op:
        batch_op.drop_index('uq_early_warning')
    op.drop_table('early_warning')
