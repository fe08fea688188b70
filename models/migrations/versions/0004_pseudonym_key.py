"""pseudonym_key: the fingerprint of the key the store's pseudonyms were made with

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Left empty: the key is not known here. Ingest records the fingerprint of the key in use
    # the first time it pseudonymises after this upgrade, and compares every later key with it.
    op.create_table('pseudonym_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('pseudonym_key')
