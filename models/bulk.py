"""Set-based writes of polars frames into store tables.

One ORM object per row would make a million-row feed take minutes; instead a
frame is written in one statement stream inside the caller's transaction:
PostgreSQL gets COPY (its fastest bulk path), other databases a DB-API
executemany of plain tuples.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import polars as pl
from sqlalchemy import Connection, Table

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
