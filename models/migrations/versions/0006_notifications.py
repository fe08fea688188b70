"""notifications: the outbox, who was told about which alert, and when an alert escalated

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalated_on', sa.Date(), nullable=True))
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('alerts', sa.Text(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_on', sa.Date(), nullable=False),
        sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_outbox_key', 'outbox', ['key'], unique=True)
    op.create_index('ix_outbox_due', 'outbox', ['la_code', 'status', 'next_attempt_at'], unique=False)
    op.create_table(
        'alert_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('message_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('noticed_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_alert_notice', 'alert_notice', ['message_key', 'alert_key'], unique=True)
    op.create_index('ix_alert_notice_alert', 'alert_notice', ['la_code', 'alert_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alert_notice_alert', table_name='alert_notice')
    op.drop_index('uq_alert_notice', table_name='alert_notice')
    op.drop_table('alert_notice')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_index('uq_outbox_key', table_name='outbox')
    op.drop_table('outbox')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('escalated_on')
