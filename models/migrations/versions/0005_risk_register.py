"""risk register and Impact Log: risks, their controls, actions, linked indicators, assessments, evidence and
proposed re-scores, and the Impact Log's entries

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('impact_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('entry_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('subgroup', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('challenge', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('evidence', sa.Text(), server_default='', nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_impact_entry', 'impact_entry', ['la_code', 'entry_id'], unique=True)
    op.create_table('risk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
    sa.Column('risk_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('consequence', sa.Text(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subgroup', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('inherent_likelihood', sa.Integer(), nullable=False),
    sa.Column('inherent_impact', sa.Integer(), nullable=False),
    sa.Column('current_likelihood', sa.Integer(), nullable=False),
    sa.Column('current_impact', sa.Integer(), nullable=False),
    sa.Column('target_likelihood', sa.Integer(), nullable=False),
    sa.Column('target_impact', sa.Integer(), nullable=False),
    sa.Column('confidence', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('confidence_reason', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('next_review', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_risk_id', 'risk', ['la_code', 'risk_id'], unique=True)
    op.create_table('risk_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_risk_action_risk'), 'risk_action', ['risk'], unique=False)
    op.create_table('risk_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('likelihood', sa.Integer(), nullable=False),
    sa.Column('impact', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_risk_assessment_risk'), 'risk_assessment', ['risk'], unique=False)
    op.create_table('risk_control',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('effectiveness', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_risk_control_risk'), 'risk_control', ['risk'], unique=False)
    op.create_table('risk_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_risk_evidence', 'risk_evidence', ['risk', 'alert_key', 'status', 'severity'], unique=True)
    op.create_table('risk_indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_risk_indicator', 'risk_indicator', ['risk', 'indicator'], unique=True)
    op.create_table('risk_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('likelihood', sa.Integer(), nullable=False),
    sa.Column('impact', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('proposed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['risk'], ['risk.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_risk_proposal_risk'), 'risk_proposal', ['risk'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_risk_proposal_risk'), table_name='risk_proposal')
    op.drop_table('risk_proposal')
    op.drop_index('uq_risk_indicator', table_name='risk_indicator')
    op.drop_table('risk_indicator')
    op.drop_index('uq_risk_evidence', table_name='risk_evidence')
    op.drop_table('risk_evidence')
    op.drop_index(op.f('ix_risk_control_risk'), table_name='risk_control')
    op.drop_table('risk_control')
    op.drop_index(op.f('ix_risk_assessment_risk'), table_name='risk_assessment')
    op.drop_table('risk_assessment')
    op.drop_index(op.f('ix_risk_action_risk'), table_name='risk_action')
    op.drop_table('risk_action')
    op.drop_index('uq_risk_id', table_name='risk')
    op.drop_table('risk')
    op.drop_index('uq_impact_entry', table_name='impact_entry')
    op.drop_table('impact_entry')
