"""text columns: names, addresses, paths, reasons and lists of sources are TEXT

SQLite never enforced a VARCHAR's length; PostgreSQL does, so a benchmark
import of the eleven shipped files (their names joined, over 255 characters)
failed there, as would a long path, address, title or owner.  Codes, ids,
keys and fixed vocabularies keep their lengths.

PostgreSQL changes the type in place (VARCHAR to TEXT rewrites nothing).
SQLite cannot change a column's type, and batch mode (copy the table, drop
the old one) cannot be used on `submission` and `risk`: other tables refer to
them, and with foreign keys on, dropping a referenced table inside the
upgrade's transaction fails.  So each column is replaced in place instead:
a TEXT column is added, filled, the old one dropped and the new one renamed
(SQLite 3.35 or later; an older SQLite keeps the declared VARCHAR, which it
never enforced, so it stores the same).  A NOT NULL column added to SQLite
needs a default, hence `DEFAULT ''` there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:30:00
"""

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# table -> (column, its length before (None: VARCHAR without one), nullable)
COLUMNS = {
    'submission': [('file_name', 255, False), ('archive_path', None, True), ('report_path', None, True)],
    'indicator_value': [('note', 255, False)],
    'audit_event': [('actor', 128, False), ('subject', 255, False)],
    'benchmark': [('area_name', 128, False), ('source_file', 255, False)],
    'spc_rebase': [('created_by', 128, False)],
    'alert': [('acknowledged_by', 128, True)],
    'risk': [('title', 255, False), ('priority', 40, False), ('owner', 128, False), ('approver', 128, True)],
    'risk_action': [('owner', 128, False)],
    'risk_assessment': [('by', 128, False)],
    'risk_proposal': [('decided_by', 128, True)],
    'impact_entry': [('owner', 128, False)],
    'outbox': [('receiver', 160, False), ('channel', 160, False)],
    'alert_notice': [('receiver', 160, False)],
}


def _retype(table: str, column: str, nullable: bool, old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=nullable)
        return
    if sqlite3.sqlite_version_info < (3, 35, 0):  # no DROP COLUMN: the declared type stays, and changes nothing
        return
    declared = new.compile(dialect=op.get_bind().dialect)
    spare = f'{column}__retyped'
    op.execute(f'ALTER TABLE "{table}" ADD COLUMN "{spare}" {declared}' + ('' if nullable else " NOT NULL DEFAULT ''"))
    op.execute(f'UPDATE "{table}" SET "{spare}" = "{column}"')
    op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{spare}" TO "{column}"')


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for column, length, nullable in columns:
            _retype(table, column, nullable, sa.String(length), sa.Text())


def downgrade() -> None:
    """Back to the old lengths: refused by PostgreSQL if a value has since grown longer than its old column."""
    for table, columns in COLUMNS.items():
        for column, length, nullable in columns:
            _retype(table, column, nullable, sa.Text(), sa.String(length))
