"""Alembic environment: runs on the connection Radar hands it (see models.engine.upgrade)."""

from alembic import context
from sqlmodel import SQLModel

import radar.models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    connection = config.attributes["engine"].connect()

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
