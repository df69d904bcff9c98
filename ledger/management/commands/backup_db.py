"""A consistent copy of the live SQLite database, for cron (docs/operations.md). PostgreSQL has pg_dump."""

import os
import sqlite3
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = (
        "Copy the live SQLite database to --output with SQLite's online backup API: a consistent snapshot of "
        "what was committed, taken while the application keeps running. An existing file at --output is replaced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", required=True, help="Where to write the copy, e.g. /var/backups/ledger/2026-11-20.sqlite3."
        )

    def handle(self, *args, output: str, **options) -> None:
        if connection.vendor != "sqlite":
            raise CommandError(
                f"backup_db copies SQLite databases; this one is {connection.vendor}. Back it up with "
                'pg_dump --format=custom --file=ledger.dump "$DATABASE_URL" (docs/operations.md).'
            )
        source_path = Path(connection.settings_dict["NAME"])
        target = Path(output).resolve()
        if not source_path.is_file():
            raise CommandError(f"There is no database file at {source_path} to back up.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist; create it first.")
        if target == source_path.resolve():
            raise CommandError("--output is the live database itself; choose another path.")

        # Written beside the target and renamed into place, so a crash never leaves a half copy at --output.
        partial = target.with_name(f".{target.name}.partial")
        try:
            source, copy = sqlite3.connect(source_path, timeout=20), sqlite3.connect(partial)
            try:
                source.backup(copy)  # all pages in one step: one read snapshot; writers are not blocked (WAL)
                check = copy.execute("PRAGMA quick_check").fetchone()[0]
                signals, trades = (
                    copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("signals", "paper_trades")
                )
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                copy.close()
                source.close()
            if check != "ok":
                raise CommandError(f"The copy failed SQLite's integrity check ({check}); {output} was not written.")
            os.replace(partial, target)
        except (sqlite3.Error, OSError) as error:
            raise CommandError(
                f"Backing up {source_path} to {output} failed, nothing was written there: {error}"
            ) from error
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            f"Backed up {signals} signals and {trades} trades to {target} ({target.stat().st_size:,} bytes)."
        )
