"""`flask backup create` / `flask backup restore`: a backup taken while the app writes, restored into a fresh
database, holds every ledger entry (same ids, minutes, statuses and status events) and the append-only triggers.

Runs on the suite's database: SQLite (online backup API) or PostgreSQL (pg_dump -Fc / pg_restore).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from app.ops.backup import backup_database, restore_database
from app.timeutil import utcnow
from composition import create_app
from hours.ledger import services as ledger
from hours.review.verification import reject_entry, verify_entry
from tests.ops.helpers import ON_POSTGRES
from tests.support import running


def ledger_snapshot(url: str) -> dict:
    """Every ledger row that matters, read straight from a database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:

            def rows(query):
                return [tuple(row) for row in connection.execute(text(query))]

            return {
                "entries": rows(
                    "SELECT e.id, e.volunteer_id, e.event_id, e.kind, e.minutes, e.amends_entry_id, "
                    "e.service_year, s.status FROM hour_entries e "
                    "JOIN hour_entry_states s ON s.entry_id = e.id ORDER BY e.id"
                ),
                "events": rows(
                    "SELECT id, entry_id, status, from_status, by_id, reason FROM hour_entry_events ORDER BY id"
                ),
                "summaries": rows(
                    "SELECT volunteer_id, service_year, scan_minutes, backfill_minutes "
                    "FROM hour_summaries ORDER BY volunteer_id, service_year"
                ),
                "attendances": rows(
                    "SELECT id, user_id, status, checked_in_at, checked_out_at FROM attendances ORDER BY id"
                ),
            }
    finally:
        engine.dispose()


@pytest.fixture
def decided_ledger(db, submitted_hours, now):
    """Two entries verified, one rejected, then a correction of the first waiting for verification."""
    first, second, third = submitted_hours.entries
    reviewer = submitted_hours.reviewer
    verify_entry(first, by=reviewer, now=now)
    verify_entry(second, by=reviewer, now=now)
    reject_entry(third, by=reviewer, now=now, reason="签退时间与现场记录不符")
    db.session.commit()
    ledger.correct_entry(first, minutes=100, by=submitted_hours.coordinator, now=now, reason="现场登记表更正")
    db.session.commit()
    return submitted_hours


@pytest.fixture
def fresh_target(tmp_path, database_url):
    """The URL of a database that does not exist yet (dropped after the test on PostgreSQL)."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'restored' / 'volunteers.db'}"
        return
    name = f"ops_restore_{uuid.uuid4().hex[:10]}"
    url = make_url(database_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_and_restore_keep_every_ledger_entry_and_the_triggers(
    app, db, decided_ledger, database_url, fresh_target, tmp_path
):
    before = ledger_snapshot(database_url)
    assert len(before["entries"]) == 4 and {row[-1] for row in before["entries"]} == {
        "verified",
        "rejected",
        "submitted",
    }
    # The app is writing while the backup runs: an open, uncommitted transaction holds a write lock.
    writer = create_engine(database_url)
    connection = writer.connect()
    transaction = connection.begin()
    connection.execute(
        text(
            "INSERT INTO job_runs (job, period_key, started_at, status, result) "
            "VALUES ('uncommitted', 'x', :at, 'running', '')"
        ),
        {"at": utcnow()},
    )
    try:
        result = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(tmp_path / "b" / "one")])
    finally:
        transaction.rollback()
        connection.close()
        writer.dispose()
    assert result.exit_code == 0, result.output
    backup = tmp_path / "b" / "one"
    assert "backup written" in result.output and backup.stat().st_size > 0
    assert backup.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only

    args = ["backup", "restore", str(backup), "--to", fresh_target] + (["--create-database"] if ON_POSTGRES else [])
    restored = app.test_cli_runner().invoke(args=args)
    assert restored.exit_code == 0, restored.output
    assert "hour_entries: 4 rows" in restored.output

    after = ledger_snapshot(fresh_target)
    assert after == before  # same ids, minutes, statuses, status events, summaries and attendances
    engine = create_engine(fresh_target)
    try:
        with engine.connect() as check:
            assert check.execute(text("SELECT count(*) FROM job_runs WHERE job = 'uncommitted'")).scalar() == 0
        for statement in (
            "UPDATE hour_entries SET minutes = 0",
            "DELETE FROM hour_entry_events",
            "DELETE FROM hour_entries",
        ):
            with engine.connect() as check, pytest.raises(DatabaseError, match="append-only"):
                check.execute(text(statement))
    finally:
        engine.dispose()
    # The restored database is a working one: the app is ready on it.
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_target})
    with running(application):
        assert application.test_client().get("/readyz").status_code == 200


def test_a_restore_never_writes_into_a_database_with_tables(app, db, decided_ledger, database_url, tmp_path):
    backup = backup_database(database_url, tmp_path / "backup")
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(backup), "--to", database_url])
    assert result.exit_code != 0
    assert "exists already" in result.output or "not empty" in result.output
    assert ledger_snapshot(database_url)["entries"]  # untouched


def test_a_backup_is_never_overwritten(app, database_url, tmp_path):
    target = tmp_path / "backup"
    target.write_bytes(b"an older backup")
    result = app.test_cli_runner().invoke(args=["backup", "create", "--output", str(target)])
    assert result.exit_code != 0 and "never overwritten" in result.output
    assert target.read_bytes() == b"an older backup"


def test_default_names_and_keeping_the_newest(app, database_url, tmp_path):
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    folder = tmp_path / "backups"
    folder.mkdir()
    suffix = "dump" if ON_POSTGRES else "sqlite3"
    for stamp in ("20200101T000000Z", "20200102T000000Z"):
        (folder / f"volunteers-{stamp}.{suffix}").write_bytes(b"old")
    result = runner.invoke(args=["backup", "create", "--keep", "2"])
    assert result.exit_code == 0, result.output
    kept = sorted(path.name for path in folder.iterdir())
    assert len(kept) == 2 and kept[0] == f"volunteers-20200102T000000Z.{suffix}"
    assert kept[1].startswith("volunteers-2") and kept[1].endswith(suffix) and "20200102" not in kept[1]


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite files")
def test_sqlite_refusals(tmp_path):
    from app.ops.backup import BackupError

    with pytest.raises(BackupError, match="in-memory"):
        backup_database("sqlite:///:memory:", tmp_path / "x")
    with pytest.raises(BackupError, match="no database file"):
        backup_database(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "y")
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.partial").exists()
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a usable SQLite backup"):
        restore_database(broken, f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()
