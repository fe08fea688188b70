"""Set-based writes of polars frames into store tables.

One ORM object per row would make a million-row feed take minutes; instead a
frame is written in one statement stream inside the caller's transaction:
PostgreSQL gets COPY (its fastest bulk path), other databases a DB-API
executemany of plain tuples.  Updates of many rows take the same path on
PostgreSQL, through a temporary table.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, and_, bindparam, update

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
        conn.exec_driver_sql(sql, batch.rows())
        count += batch.height
    return count


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
