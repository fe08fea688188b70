"""initial store

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 18:11:24.674410
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('detail', sa.Text(), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('indicator_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.create_index('uq_indicator_value', ['la_code', 'indicator', 'breakdown', 'period'], unique=True)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('feed_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('file_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('errors_json', sa.Text(), server_default='[]', nullable=False),
    sa.Column('archive_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('report_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['replaces_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index('ix_submission_feed_period', ['la_code', 'feed_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_file_hash'), ['file_hash'], unique=False)
        batch_op.create_index('uq_submission_current', ['la_code', 'feed_id', 'period'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    op.create_table('lado_referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('referral_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('setting_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('setting_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('allegation_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lado_referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lado_referral_submission_id'), ['submission_id'], unique=False)

    op.create_table('mash_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('contact_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('child_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mash_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mash_contact_submission_id'), ['submission_id'], unique=False)

    op.create_table('missing_episode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('episode_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('child_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('looked_after', sa.Boolean(), nullable=False),
    sa.Column('rhi_offered', sa.Boolean(), nullable=False),
    sa.Column('rhi_completed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('missing_episode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_episode_submission_id'), ['submission_id'], unique=False)

    op.create_table('observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('feed_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('breakdown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index('ix_observation_lookup', ['la_code', 'feed_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_submission_id'))
        batch_op.drop_index('ix_observation_lookup')

    op.drop_table('observation')
    with op.batch_alter_table('missing_episode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_episode_submission_id'))

    op.drop_table('missing_episode')
    with op.batch_alter_table('mash_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mash_contact_submission_id'))

    op.drop_table('mash_contact')
    with op.batch_alter_table('lado_referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lado_referral_submission_id'))

    op.drop_table('lado_referral')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('uq_submission_current', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index(batch_op.f('ix_submission_file_hash'))
        batch_op.drop_index('ix_submission_feed_period')

    op.drop_table('submission')
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.drop_index('uq_indicator_value')

    op.drop_table('indicator_value')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
