"""A failure while writing rows writes nothing: the job says failed, with its reason."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.security import demo_id_number
from tests import factories
from volunteers.accounts.models import User
from volunteers.imports.jobs import rows_validated


@pytest.fixture
def app_overrides():
    # Two rows per INSERT: the collision comes in the second statement, after rows were already inserted.
    return {"IMPORT_INSERT_BATCH": 2}


def test_a_row_that_collides_at_insert_time_leaves_no_new_rows(app, client, db, orgs, town_admin, make_row, run_upload):
    rows = [make_row() for _ in range(5)]
    late_mobile = rows[3]["手机号"]

    def register_meanwhile(sender, **extra):
        """Someone registers with row 5's mobile after the checks and before the insert (another request)."""
        with app.app_context():
            factories.user(
                orgs["nancheng"],
                mobile=late_mobile,
                id_number=demo_id_number(date(1999, 9, 9), 777, region="445300"),
                name="抢先注册",
                political_status="群众",
                emergency_contact_name="某人",
            )

    before = db.session.scalar(select(func.count(User.id)))
    with rows_validated.connected_to(register_meanwhile, sender=app):
        job = run_upload(rows, orgs["nancheng"])

    assert job.status == "failed"
    assert (job.failure_code, job.failure_detail) == ("conflict", "mobile")
    assert job.rows_imported == 0 and job.finished_at is not None
    assert db.session.scalar(select(func.count(User.id))) == before + 1  # only the one who registered
    assert db.session.scalar(select(func.count(User.id)).where(User.source == "imported")) == 0
    html = client.get(f"/admin/import/{job.id}").get_data(as_text=True)
    assert "someone registered with the same mobile number as one of its rows" in html
    assert "Nothing was imported" in html

    again = run_upload(rows, orgs["nancheng"])
    assert (again.status, again.rows_imported, again.rows_rejected) == ("done", 4, 1)
    assert again.rejected_rows[0]["row"] == 5
    assert again.rejected_rows[0]["problems"][0]["code"] == "mobile_registered"
