"""The threaded path: the upload returns at once, the result page polls progress until the job is done."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from volunteers.accounts.models import User
from volunteers.imports.jobs import rows_validated


@pytest.fixture
def app_overrides():
    return {"IMPORT_SYNCHRONOUS": False}


def poll_until_done(client, url: str, *, limit_seconds: float = 60.0) -> list[dict]:
    """Read the progress endpoint until it says done; a bounded loop, never an open-ended wait."""
    seen = []
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 200
        seen.append(response.get_json())
        if seen[-1]["done"]:
            return seen
        time.sleep(0.05)
    pytest.fail(f"the import did not finish within {limit_seconds} s; last progress: {seen[-1] if seen else None}")


def test_a_background_import_shows_progress_and_finishes(
    app, client, db, orgs, town_admin, make_row, xlsx, upload, job_id_of
):
    rows = [make_row() for _ in range(600)]
    data = xlsx(rows)
    checked = threading.Event()
    release = threading.Event()

    def hold_after_checks(sender, **extra):
        """Keep the worker between checking and writing, so the test can look at a running job."""
        checked.set()
        release.wait(timeout=30)

    before = db.session.scalar(select(func.count(User.id)))
    with rows_validated.connected_to(hold_after_checks, sender=app):
        job_id = job_id_of(upload(data, orgs["nancheng"]))
        assert checked.wait(timeout=60), "the worker never finished checking the rows"
        try:
            page = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
            assert f'data-progress-url="/admin/import/{job_id}/progress"' in page
            assert "js/import.js" in page and "<progress" in page
            midway = client.get(f"/admin/import/{job_id}/progress", headers={"Accept": "application/json"}).get_json()
            assert midway["status"] == "importing" and not midway["done"]
            assert midway["rows_processed"] == midway["rows_total"] == 600
            assert midway["percent"] == 90
        finally:
            release.set()
        seen = poll_until_done(client, f"/admin/import/{job_id}/progress")

    final = seen[-1]
    assert final["status"] == "done" and final["percent"] == 100
    assert (final["rows_imported"], final["rows_skipped"], final["rows_rejected"]) == (600, 0, 0)
    assert db.session.scalar(select(func.count(User.id))) == before + 600
    done_page = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "js/import.js" not in done_page and 'id="count-imported">600<' in done_page


def test_a_background_import_polled_from_the_start(
    app, client, db, orgs, town_admin, make_row, xlsx, upload, job_id_of
):
    job_id = job_id_of(upload(xlsx([make_row() for _ in range(30)] + [make_row(手机号="123")]), orgs["nancheng"]))
    seen = poll_until_done(client, f"/admin/import/{job_id}/progress")
    assert seen[-1]["status"] == "done"
    assert (seen[-1]["rows_imported"], seen[-1]["rows_rejected"]) == (30, 1)
    processed = [s["rows_processed"] for s in seen]
    assert processed == sorted(processed)  # progress never goes backwards
