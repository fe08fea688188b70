"""Polars frames in and out of store tables, set-based.

One ORM object per row would make a million-row feed take minutes; instead a
frame is written in one statement stream inside the caller's transaction:
PostgreSQL gets COPY (its fastest bulk path), other databases a DB-API
executemany of plain tuples.  Updates of many rows take the same path on
PostgreSQL, through a temporary table.  Reads come back as frames with a
fixed schema, so an empty result is an empty, typed frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, and_, bindparam, delete, select, update
from sqlalchemy import types as sa_types

NULL_MARKER = r"\N"
BATCH_ROWS = 50_000


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
    """Insert every row of `frame` (columns named as the table's) into `table`; returns the row count.

    `frame` may also be frames arriving one after another (a large file read
    in batches), so the whole file never has to be in memory.  Rows go in
    batches of BATCH_ROWS, all in the caller's transaction: a whole file is
    still stored or not at all, but only one batch at a time is turned into
    Python values or CSV text (a million-row file as one list of tuples took
    gigabytes).
    """
    slices = (part for whole in ([frame] if isinstance(frame, pl.DataFrame) else frame)
              for part in whole.iter_slices(BATCH_ROWS) if not part.is_empty())
    first = next(slices, None)
    if first is None:
        return 0
    columns, count = first.columns, 0
    if conn.dialect.name == "postgresql":
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN (FORMAT csv, NULL \'{NULL_MARKER}\')') as copy:
            for batch in chain([first], slices):
                copy.write(batch.write_csv(include_header=False, null_value=NULL_MARKER))
                count += batch.height
        return count
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([marker] * len(columns))
    sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({placeholders})'
    for batch in chain([first], slices):
        conn.exec_driver_sql(sql, _as_text_dates(batch).rows())
        count += batch.height
    return count


def _as_text_dates(batch: pl.DataFrame) -> pl.DataFrame:
    """Dates as the ISO text SQLite keeps them in, written by polars in one pass.

    The same text the sqlite3 module's date adapter writes, without a Python
    date object and an adapter call per cell (a million-row feed's dates took
    a second), and without that adapter, deprecated since Python 3.12.
    """
    return batch.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d"))


def update_frame(conn: Connection, table: Table, frame: pl.DataFrame, match: list[str], scope: list) -> None:
    """Set the other columns of each row of `frame` on the row of `table` with its `match` columns, within `scope`.

    PostgreSQL: the frame is copied into a temporary table and applied in one
    UPDATE ... FROM (a statement per row made a month's few thousand rewritten
    points take most of an incremental cycle); other databases: one UPDATE
    per row in an executemany, which in-process SQLite runs as fast.
    """
    if frame.is_empty():
        return
    values = [c for c in frame.columns if c not in match]
    if conn.dialect.name != "postgresql":
        address = and_(*scope, *[table.c[c] == bindparam(f"match_{c}") for c in match])
        conn.execute(update(table).where(address), frame.rename({c: f"match_{c}" for c in match}).to_dicts())
        return
    name, quoted = f"update_{table.name}", ", ".join(f'"{c}"' for c in frame.columns)
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" AS SELECT {quoted} FROM "{table.name}" WITH NO DATA')
    changes = Table(name, MetaData(), *[Column(c, table.c[c].type) for c in frame.columns])
    insert_frame(conn, changes, frame)
    conn.execute(update(table).where(*scope, *[table.c[c] == changes.c[c] for c in match])
                 .values({c: changes.c[c] for c in values}))
    conn.exec_driver_sql(f'DROP TABLE "{name}"')


POLARS_TYPES = ((sa_types.String, pl.String), (sa_types.DateTime, pl.Datetime("us", "UTC")),
                (sa_types.Date, pl.Date), (sa_types.Boolean, pl.Boolean), (sa_types.Integer, pl.Int64),
                (sa_types.Float, pl.Float64))


def polars_schema(table: Table) -> dict[str, pl.DataType]:
    """A table's columns as polars types, so even an empty result has the right schema."""
    def polars_type(column):
        kind = column.type.impl_instance if isinstance(column.type, sa_types.TypeDecorator) else column.type
        return next(p for sa, p in POLARS_TYPES if isinstance(kind, sa))

    return {c.name: polars_type(c) for c in table.columns}


def read_frame(conn: Connection, query, schema: dict) -> pl.DataFrame:
    """`query`'s rows as a frame with `schema`'s columns and types (every column of the query must be in it), empty
    but typed when there are none.  Built from the rows directly: `pl.read_database` would cost a command that
    reads a few hundred rows polars' database module and SQLAlchemy's asyncio extension (it looks for an async
    connection)."""
    result = conn.execute(query)
    columns = result.keys()  # the rows' column names, in their order
    return pl.DataFrame(result.all(), schema={c: schema[c] for c in columns}, orient="row").select(list(schema))


def sync_rows(conn: Connection, table: Table, rows: pl.DataFrame, keys: list[str], values: list[str],
              scope: list, fixed: dict[str, Any], touch: dict[str, Any] | None = None,
              stored: pl.DataFrame | None = None) -> dict[str, int]:
    """Make the stored rows within `scope` equal `rows`, changing only what differs.

    Unchanged rows are left alone (a second identical run writes nothing);
    changed rows are updated, new ones inserted in bulk, and rows that are no
    longer produced are deleted.  `fixed` columns (e.g. la_code) are set on
    inserts and are part of the scope; `touch` columns (e.g. a timestamp) are
    set on every insert and update but never compared.  A caller that knows
    what is stored (the incremental cycle keeps it) passes it as `stored`
    (keys + values): nothing is read, and rows are addressed by their keys.
    """
    touch = touch or {}
    scope = [*scope, *[table.c[c] == v for c, v in fixed.items()]]
    if stored is None:
        schema = {c: rows.schema[c] for c in keys + values}
        stored = read_frame(conn, select(table.c.id, *[table.c[c] for c in keys + values]).where(*scope),
                            {"id": pl.Int64, **schema})
        match, within = ["id"], []  # an id is its row
    else:
        match, within = keys, scope
    new = rows.join(stored, on=keys, how="anti", nulls_equal=True)
    gone = stored.join(rows, on=keys, how="anti", nulls_equal=True)
    changed = rows.join(stored, on=keys, how="inner", suffix="_old", nulls_equal=True).filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in values)
    )
    if not gone.is_empty():
        address = and_(*within, *[table.c[c] == bindparam(f"match_{c}") for c in match])
        conn.execute(delete(table).where(address), gone.select(pl.col(c).alias(f"match_{c}") for c in match).to_dicts())
    update_frame(conn, table, changed.select(*match, *values).with_columns(**_literals(touch)), match, within)
    insert_frame(conn, table, new.select(*keys, *values).with_columns(**_literals(fixed | touch)))
    return {"inserted": new.height, "updated": changed.height, "deleted": gone.height}


def _literals(columns: dict[str, Any]) -> dict[str, pl.Expr]:
    return {c: pl.lit(v) for c, v in columns.items()}


def sync_series(conn: Connection, table: Table, la_code: str, rows: pl.DataFrame, keys: list[str],
                stored: pl.DataFrame | None = None) -> dict:
    """Replace a partnership's rows of a computed table (SPC points, series status, positive signals).

    `stored`: what the table holds for the partnership, when the caller knows (see `sync_rows`).
    """
    values = [c for c in rows.columns if c not in keys]
    return sync_rows(conn, table, rows, keys=keys, values=values, scope=[], fixed={"la_code": la_code},
                     stored=stored)

