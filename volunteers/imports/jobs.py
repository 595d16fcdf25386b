"""Running a volunteer import job: check every row, then write the valid rows in one transaction.

Transactions, in order:
1. the checks only read; progress goes to the job row in short transactions of its own
   (volunteers.imports.importer.report_progress), so the page can show a progress bar;
2. the verdicts (counts, rejected rows) are written the same way;
3. one block of volunteer numbers is reserved and committed on its own (a failed import leaves a gap
   in the numbering, never a half import);
4. one data transaction inserts every valid row and marks the job done. If anything fails there,
   it is rolled back whole and the job is marked failed with its reason.
"""

from __future__ import annotations

import logging
import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime

from blinker import Namespace
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from app import counters
from app.errors import ValidationFailed
from app.extensions import db
from app.timeutil import local_today, utcnow
from volunteers.imports import importer
from volunteers.imports.models import ImportJob, ImportStatus
from volunteers.imports.rows import CheckedRow, RowChecker
from volunteers.organizations.models import Organization

log = logging.getLogger(__name__)

_signals = Namespace()
#: sent after every row was checked and before anything is written (sender: the app; job_id, rows)
rows_validated = _signals.signal("volunteer-import-validated")

CHECK_BATCH = 500


class JobFailed(Exception):
    """The job cannot go on; `code` is one of volunteers.imports.messages.FAILURES."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code = code
        self.detail = detail


def start_import(app: Flask, job_id: int, data: bytes, *, now: datetime) -> None:
    """Run the job now (IMPORT_SYNCHRONOUS) or in a background thread with its own app context and session."""
    if app.config["IMPORT_SYNCHRONOUS"]:
        run_import(job_id, data, now=now)
        return
    threads = app.extensions.setdefault("import_threads", [])
    threads[:] = [t for t in threads if t.is_alive()]
    thread = threading.Thread(
        target=_run_in_thread, args=(app, job_id, data, now), name=f"volunteer-import-{job_id}", daemon=True
    )
    threads.append(thread)
    thread.start()


def _run_in_thread(app: Flask, job_id: int, data: bytes, now: datetime) -> None:
    with app.app_context():
        try:
            run_import(job_id, data, now=now)
        except Exception:
            log.exception("volunteer import %s: the worker stopped", job_id)


def run_import(job_id: int, data: bytes, *, now: datetime) -> str:
    """Check the file's rows, record the verdicts, write the valid rows in one transaction; the final status."""
    try:
        job = db.session.get(ImportJob, job_id)
        assert job is not None  # created before the job was started; a failure here fails the import
        by_id, scope = job.created_by_id, job.organization
        valid_rows, skill_links = _check_rows(job, scope, data, now)
        db.session.rollback()  # the checks only read; end their transaction
    except JobFailed as failed:
        db.session.rollback()
        return _fail(job_id, failed.code, failed.detail)
    except Exception:
        log.exception("volunteer import %s failed while checking rows", job_id)
        db.session.rollback()
        return _fail(job_id, "error")

    rows_validated.send(current_app._get_current_object(), job_id=job_id, rows=len(valid_rows))  # type: ignore[attr-defined]  # current_app is a LocalProxy; Flask types it as the Flask app it stands for
    try:
        if valid_rows:
            numbers = counters.volunteer_numbers(len(valid_rows), year=local_today(now).year)
            db.session.commit()
            for values, number in zip(valid_rows, numbers, strict=False):
                values["volunteer_number"] = number
        on_batch = None
        if db.engine.dialect.name != "sqlite":
            # SQLite has one writer at a time: a progress write from a second connection would wait for
            # the data transaction, so there the bar jumps from "checked" to "done".
            def on_batch(done: int) -> None:
                importer.report_progress(job_id, utcnow(), rows_imported=done)

        imported = importer.insert_rows(
            valid_rows, skill_links, batch=current_app.config["IMPORT_INSERT_BATCH"], on_batch=on_batch
        )
        importer.finish_job(job_id, by_id=by_id, imported=imported, now=utcnow())
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        subject = _conflict_subject(exc)
        log.warning("volunteer import %s: rows conflicted at insert (%s); nothing written", job_id, subject)
        return _fail(job_id, "conflict" if subject else "error", subject)
    except Exception:
        log.exception("volunteer import %s failed while writing rows", job_id)
        db.session.rollback()
        return _fail(job_id, "error")
    return ImportStatus.DONE.value


def _check_rows(job: ImportJob, scope: Organization, data: bytes, now: datetime) -> tuple[list[dict], list[list[int]]]:
    """Read and check every row; report progress; record the verdicts. Returns the rows to insert."""
    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    try:
        opened = importer.open_import_file(data, max_rows=max_rows)
    except ValidationFailed as exc:
        raise JobFailed("too_many_rows" if exc.code == "too_many_rows" else "unreadable", str(max_rows)) from exc
    estimate = opened.rows_estimate
    checker = RowChecker(scope, today=local_today(now), now=now)
    valid_rows: list[dict] = []
    skill_links: list[list[int]] = []
    rejected: list[dict] = []
    counts = {"processed": 0, "skipped": 0, "rejected": 0}

    def settle(batch: list[CheckedRow]) -> None:
        valid, skipped, refused = checker.settle(batch)
        for row in valid:
            valid_rows.append(row.values)
            skill_links.append(row.skill_ids)
        for row in refused:
            rejected.append({"row": row.number, "name": row.name, "problems": row.problems})
        counts["processed"] += len(batch)
        counts["skipped"] += len(skipped)
        counts["rejected"] += len(refused)
        importer.report_progress(
            job.id,
            utcnow(),
            rows_total=max(estimate, counts["processed"]),
            rows_processed=counts["processed"],
            rows_skipped=counts["skipped"],
            rows_rejected=counts["rejected"],
        )

    batch: list[CheckedRow] = []
    try:
        for number, cells in _rows(opened):
            if counts["processed"] + len(batch) >= max_rows:
                raise JobFailed("too_many_rows", str(max_rows))
            batch.append(checker.check(number, cells))
            if len(batch) >= CHECK_BATCH:
                settle(batch)
                batch = []
        if batch:
            settle(batch)
    finally:
        opened.close()
    importer.report_progress(
        job.id,
        utcnow(),
        status=ImportStatus.IMPORTING.value,
        rows_total=counts["processed"],
        rows_processed=counts["processed"],
        rows_skipped=counts["skipped"],
        rows_rejected=counts["rejected"],
        rejected_rows=rejected,
    )
    return valid_rows, skill_links


def _rows(opened: importer.OpenedFile) -> Iterator[tuple[int, dict[str, object]]]:
    """The file's data rows; a file that breaks while being read fails the job as unreadable."""
    iterator = opened.data_rows()
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, SyntaxError) as exc:
            raise JobFailed("unreadable") from exc
        yield item


def _conflict_subject(exc: IntegrityError) -> str:
    """Which unique value collided: the database names the constraint (PostgreSQL) or the column (SQLite)."""
    message = str(exc.orig)
    for marker, subject in (
        ("id_number_hash", "id_number"),
        ("volunteer_number", "volunteer_number"),
        ("mobile", "mobile"),
    ):
        if marker in message:
            return subject
    return ""


def _fail(job_id: int, code: str, detail: str = "") -> str:
    """Record that the job failed and wrote nothing."""
    now = utcnow()
    importer.report_progress(
        job_id,
        now,
        status=ImportStatus.FAILED.value,
        failure_code=code,
        failure_detail=detail,
        rows_imported=0,
        finished_at=now,
    )
    return ImportStatus.FAILED.value
