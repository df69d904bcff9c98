"""Many new rows of one model in one statement sent once (the driver's executemany: SQLite and psycopg prepare it
once and send every row's values), so that a set-based write's statement count does not grow with its rows: the end
of day writes an execution and an event for each of 10,000 trades in as many statements as for 1,000 (make bench,
"close_eod queries"). `bulk_create` would split them into INSERTs of at most 999 values on SQLite."""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def insert_rows(rows: Sequence[Model]) -> None:
    """INSERT the unsaved rows (all of one model), with their values prepared as `save()` would prepare them. The
    rows get no primary key back: for writes that do not read them again."""
    if not rows:
        return
    meta = type(rows[0])._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    values = [[field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
