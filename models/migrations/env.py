"""Alembic environment: runs on the connection Radar hands it (see models.engine.upgrade)."""

from alembic import context

from radar.models.tables import metadata  # every entity module's tables

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    connection = config.attributes["engine"].connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
