"""spc_segment: an XmR chart's mean, limits and label once per segment; the cycle mark's frames in their own table

A new month moves the mean and limits of its chart's whole latest segment:
stored on every point, that rewrote the segment each cycle.  The upgrade moves
them to one row per segment (they were equal on every point of it).  The
cycle mark's frames move to `cycle_mark_frame`, which can hold any number of
them; the old marks are dropped, so the first cycle after the upgrade
recomputes everything once, with the same result.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

SEGMENT_COLUMNS = ('mean', 'lower', 'upper', 'label')
CHART_FRAMES = ('chart_series', 'chart_tail', 'chart_points', 'chart_values')


def upgrade() -> None:
    op.create_table(
        'spc_segment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('segment', sa.Integer(), nullable=False),
        sa.Column('mean', sa.Float(), nullable=True),
        sa.Column('lower', sa.Float(), nullable=True),
        sa.Column('upper', sa.Float(), nullable=True),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('spc_segment', schema=None) as batch_op:
        batch_op.create_index('uq_spc_segment', ['la_code', 'indicator', 'breakdown', 'segment'], unique=True)
    op.execute(
        'INSERT INTO spc_segment (la_code, indicator, breakdown, segment, mean, lower, upper, label) '
        'SELECT la_code, indicator, breakdown, segment, MAX(mean), MAX(lower), MAX(upper), MAX(label) '
        'FROM spc_point GROUP BY la_code, indicator, breakdown, segment'
    )
    with op.batch_alter_table('spc_point', schema=None) as batch_op:
        for column in SEGMENT_COLUMNS:
            batch_op.drop_column(column)

    op.create_table(
        'cycle_mark_frame',
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('la_code', 'name'),
    )
    op.execute('DELETE FROM cycle_mark')
    with op.batch_alter_table('cycle_mark', schema=None) as batch_op:
        for column in CHART_FRAMES:
            batch_op.drop_column(column)


def downgrade() -> None:
    op.execute('DELETE FROM cycle_mark')
    with op.batch_alter_table('cycle_mark', schema=None) as batch_op:
        for column in CHART_FRAMES:
            batch_op.add_column(sa.Column(column, sa.LargeBinary(), nullable=False))
    op.drop_table('cycle_mark_frame')

    with op.batch_alter_table('spc_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mean', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lower', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('upper', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='ok'))
    for column in SEGMENT_COLUMNS:
        op.execute(
            f'UPDATE spc_point SET {column} = (SELECT s.{column} FROM spc_segment s WHERE s.la_code = spc_point.la_code '
            'AND s.indicator = spc_point.indicator AND s.breakdown = spc_point.breakdown '
            'AND s.segment = spc_point.segment)'
        )
    with op.batch_alter_table('spc_point', schema=None) as batch_op:
        batch_op.alter_column('label', server_default=None)
    op.drop_table('spc_segment')
