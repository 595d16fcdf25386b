"""Backup and restore of the database: `flask backup create` and `flask backup restore` (docs/operations.md).

- PostgreSQL: `pg_dump --format=custom` of the whole database (schema, data, the ledger's
  append-only triggers), restored with `pg_restore` into a fresh, empty database in one
  transaction. The password travels in PGPASSWORD, never on a command line.
- SQLite: sqlite3's online backup API (Connection.backup), a consistent copy taken while the app
  runs (WAL: readers and the copy never block writers for long), checked with
  `PRAGMA integrity_check`; restored the same way into a new file.
A backup is written next to its final name and renamed when complete, readable by its owner only
(it holds personal data). Restore never writes into a database that already has tables.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

#: how long pg_dump / pg_restore may take before we give up (seconds)
TOOL_TIMEOUT = int(os.environ.get("BACKUP_TOOL_TIMEOUT_SECONDS", str(6 * 3600)))
APPEND_ONLY_TABLES = ("hour_entries", "hour_entry_events", "hour_evidence")


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why."""


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict]:
    """A libpq connection URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _tool(name: str) -> str:
    path = os.environ.get(name.upper().replace("-", "_")) or shutil.which(name)
    if not path:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


def _run(command: list[str], env: dict) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{Path(command[0]).name} took longer than {TOOL_TIMEOUT} s") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _private_file(path: Path) -> None:
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)


def default_backup_path(url: URL, folder: Path) -> Path:
    """instance/backups/volunteers-20260301T020000Z.dump (PostgreSQL) or .sqlite3 (SQLite)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"volunteers-{stamp}.{'sqlite3' if _is_sqlite(url) else 'dump'}"


def backup_database(database_url: str, output: Path) -> Path:
    """Write a consistent backup of the database to `output` (atomically); returns its path."""
    url = make_url(database_url)
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} exists already; backups are never overwritten")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)
    try:
        if _is_sqlite(url):
            _backup_sqlite(_sqlite_path(url), partial)
        else:
            conninfo, env = _libpq(url)
            _run(
                [_tool("pg_dump"), "--format=custom", "--compress=6", f"--file={partial}", f"--dbname={conninfo}"], env
            )
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _backup_sqlite(source_path: Path, target: Path) -> None:
    if not source_path.is_file():
        raise BackupError(f"no database file at {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.backup(copy)  # one step: a consistent snapshot, even while the app writes (WAL)
        _check_sqlite(copy, target)
    finally:
        copy.close()
        source.close()


def _check_sqlite(connection: sqlite3.Connection, path: Path) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} failed its integrity check: {result}")


def _database_has_tables(url: URL) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if _is_sqlite(url):
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            else:
                query = (
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            return bool(connection.execute(text(query)).scalar())
    finally:
        engine.dispose()


def create_postgres_database(url: URL) -> None:
    """CREATE DATABASE for the URL's database, connected to the server's `postgres` database."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if exists:
                raise BackupError(f"database {url.database} exists already")
            assert url.database is not None  # the restore target's URL names its database
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


def restore_database(backup: Path, database_url: str, *, create: bool = False) -> dict:
    """Restore a backup into a fresh, empty database (created first with `create`); returns what it holds."""
    url = make_url(database_url)
    backup = Path(backup)
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    if _is_sqlite(url):
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"{target} exists already; restore into a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        _restore_sqlite(backup, target)
    else:
        if create:
            create_postgres_database(url)
        elif _database_has_tables(url):
            raise BackupError(f"database {url.database} is not empty; restore into a fresh database")
        conninfo, env = _libpq(url)
        _run(
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-acl",
                f"--dbname={conninfo}",
                str(backup),
            ],
            env,
        )
    return describe_database(url)


def _restore_sqlite(backup: Path, target: Path) -> None:
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    _private_file(target)
    copy = sqlite3.connect(target)
    try:
        _check_sqlite(source, backup)
        source.backup(copy)
        _check_sqlite(copy, target)
    except BaseException as exc:
        copy.close()
        target.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.DatabaseError):
            raise BackupError(f"{backup} is not a usable SQLite backup: {exc}") from exc
        raise
    finally:
        source.close()
    copy.close()


def describe_database(url: URL) -> dict:
    """The migration revision, the ledger's row counts and its append-only triggers, read from a database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            counts = {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("users", "attendances", *APPEND_ONLY_TABLES)
            }
            if _is_sqlite(url):
                triggers = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            else:
                triggers = connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
            return {"revision": revision, "rows": counts, "triggers": sorted(triggers.scalars().all())}
    finally:
        engine.dispose()


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups made by `flask backup create` in the folder."""
    made = sorted(list(folder.glob("volunteers-*.dump")) + list(folder.glob("volunteers-*.sqlite3")))
    doomed = made[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


backup_cli = AppGroup("backup", help="Back up and restore the database (docs/operations.md).")


@backup_cli.command("create")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Backup file (default: instance/backups/volunteers-<UTC time>.dump or .sqlite3).",
)
@click.option("--keep", type=int, default=0, help="Then delete all but this many newest backups in that folder.")
def create_command(output: Path | None, keep: int) -> None:
    """Back up the app's database (pg_dump -Fc, or SQLite's online backup); safe while the app runs."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    output = output or default_backup_path(url, Path(current_app.instance_path) / "backups")
    try:
        made = backup_database(str(url.render_as_string(hide_password=False)), output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written: {made} ({made.stat().st_size} bytes)")
    for path in prune_backups(made.parent, keep) if keep else []:
        click.echo(f"old backup deleted: {path}")


@backup_cli.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "target",
    required=True,
    help="The fresh database to restore into (a SQLAlchemy URL; never the running app's by default).",
)
@click.option("--create-database", is_flag=True, help="PostgreSQL: create the target database first.")
def restore_command(backup: Path, target: str, create_database: bool) -> None:
    """Restore a backup into a fresh database, then show its revision, ledger row counts and triggers."""
    try:
        summary = restore_database(backup, target, create=create_database)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored into {make_url(target).render_as_string(hide_password=True)}")
    click.echo(f"migration revision: {', '.join(summary['revision']) or 'none'}")
    for table, count in summary["rows"].items():
        click.echo(f"{table}: {count} rows")
    click.echo(f"triggers: {', '.join(summary['triggers']) or 'none'}")
