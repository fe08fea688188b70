"""risk actions closed with a note; Impact Log entries linked to risks and alerts

`radar risks action close` records why an action on a risk was closed
(`risk_action.note`, empty for the actions the register file loaded), and
`radar impact link` ties an Impact Log entry to a register risk or an alert
(`impact_link`: one row per link, `kind` risk or alert, `target` the risk's
id or the alert's key).  Both are additions: nothing existing is rewritten.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('risk_action', sa.Column('note', sa.Text(), server_default='', nullable=False))
    op.create_table(
        'impact_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['entry'], ['impact_entry.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_impact_link', 'impact_link', ['entry', 'kind', 'target'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_impact_link', table_name='impact_link')
    op.drop_table('impact_link')
    with op.batch_alter_table('risk_action') as batch:
        batch.drop_column('note')
