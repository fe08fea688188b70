"""alerts: a short id people can type (ref) and the day each was first raised

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 04:30:00
"""

import base64
import hashlib

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _ref(key: str) -> str:
    # Frozen copy of radar.pipelines.alert_rules.alert_ref as it stood at this revision.
    digest = base64.b32encode(hashlib.blake2b(key.encode(), digest_size=5).digest()).decode().lower()
    return f"{key.split('_')[0].split('|')[0]}-{digest}"


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
        batch_op.add_column(sa.Column('raised_on', sa.Date(), nullable=True))
    conn = op.get_bind()
    alerts = sa.table('alert', sa.column('id', sa.Integer), sa.column('key', sa.String), sa.column('ref', sa.String))
    for row_id, key in conn.execute(sa.select(alerts.c.id, alerts.c.key)).all():
        conn.execute(alerts.update().where(alerts.c.id == row_id).values(ref=_ref(key)))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('ref', existing_type=sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False)
        batch_op.create_index('uq_alert_ref', ['la_code', 'ref'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_ref')
        batch_op.drop_column('raised_on')
        batch_op.drop_column('ref')
