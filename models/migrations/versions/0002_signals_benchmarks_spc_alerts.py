"""signals: benchmarks, spc, alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:21:06.309322
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('feed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('subgroup', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), server_default='{}', nullable=False),
    sa.Column('first_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('last_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('cleared_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('ack_note', sa.Text(), nullable=True),
    sa.Column('silenced_reason', sa.Text(), nullable=True),
    sa.Column('silenced_until', sa.Date(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('uq_alert_key', ['la_code', 'key'], unique=True)

    op.create_table('benchmark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('old_la_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('area_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('benchmark', schema=None) as batch_op:
        batch_op.create_index('uq_benchmark', ['indicator', 'year', 'level', 'area_code'], unique=True)

    op.create_table('positive_signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('subgroup', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('positive_signal', schema=None) as batch_op:
        batch_op.create_index('uq_positive_signal', ['la_code', 'key'], unique=True)

    op.create_table('series_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('latest_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
    sa.Column('latest_value', sa.Float(), nullable=True),
    sa.Column('variation', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('assurance', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('yoy_change', sa.Float(), nullable=True),
    sa.Column('rolling_12_total', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('series_status', schema=None) as batch_op:
        batch_op.create_index('uq_series_status', ['la_code', 'indicator', 'breakdown'], unique=True)

    op.create_table('spc_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('lower', sa.Float(), nullable=True),
    sa.Column('upper', sa.Float(), nullable=True),
    sa.Column('signal', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('assessment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('spc_point', schema=None) as batch_op:
        batch_op.create_index('uq_spc_point', ['la_code', 'indicator', 'breakdown', 'period'], unique=True)

    op.create_table('spc_rebase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('spc_rebase')
    with op.batch_alter_table('spc_point', schema=None) as batch_op:
        batch_op.drop_index('uq_spc_point')

    op.drop_table('spc_point')
    with op.batch_alter_table('series_status', schema=None) as batch_op:
        batch_op.drop_index('uq_series_status')

    op.drop_table('series_status')
    with op.batch_alter_table('positive_signal', schema=None) as batch_op:
        batch_op.drop_index('uq_positive_signal')

    op.drop_table('positive_signal')
    with op.batch_alter_table('benchmark', schema=None) as batch_op:
        batch_op.drop_index('uq_benchmark')

    op.drop_table('benchmark')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_key')

    op.drop_table('alert')
