"""Fixtures for the membership prerequisite: people around a branch of 南城街道, and service and classes
attended, turned into ledger entries through the ledger's own services (record, submit, verify)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask_babel import force_locale

from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from checkin.models import Attendance
from hours.ledger.services import record_attendance
from hours.review.verification import reject_entry, submit_entries, verify_entry
from tests import factories
from tests.support import local

ACTIVIST = "入团积极分子"


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def people(make_user, orgs):
    """The staff around 南城阳光社区团支部 (and an outsider of 东城街道), and a volunteer who is not an applicant."""
    return {
        # submits the service hours of 南城街道志愿服务队's events
        "team_coordinator": make_user(
            name="黄队长", organization=orgs["nancheng_team"], role=Role.COORDINATOR, role_org=orgs["nancheng_team"]
        ),
        # verifies them
        "reviewer": make_user(
            name="审核员", organization=orgs["nancheng"], role=Role.REVIEWER, role_org=orgs["nancheng"]
        ),
        "branch": make_user(
            name="支部书记",
            organization=orgs["nancheng_branch"],
            role=Role.COORDINATOR,
            role_org=orgs["nancheng_branch"],
        ),
        "admin": make_user(name="管理员", organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"]),
        "outsider": make_user(
            name="东城审核员", organization=orgs["dongcheng"], role=Role.REVIEWER, role_org=orgs["dongcheng"]
        ),
        "volunteer": make_user(name="普通志愿者", organization=orgs["nancheng_branch"]),
    }


@pytest.fixture
def make_applicant(make_user, orgs):
    """make_applicant(activist_since=..., organization=..., name=...) -> an applicant (入团积极分子)."""

    def make(activist_since: date | None = date(2024, 1, 10), organization=None, **fields):
        return make_user(
            political_status=ACTIVIST,
            activist_since=activist_since,
            organization=organization or orgs["nancheng_branch"],
            **fields,
        )

    return make


@pytest.fixture
def serve(db, orgs, people):
    """serve(volunteer, start=..., minutes=..., kind="community", status="verified", checked_in=, checked_out=)

    An event of 南城街道志愿服务队 with one shift [start, start + minutes], the volunteer's closed
    attendance (the whole shift unless told), and for service events its ledger entries taken to
    `status` ("recorded", "submitted", "verified" or "rejected") by the ledger's services.
    Returns the attendance.
    """

    def make(
        volunteer,
        *,
        start: datetime,
        minutes: int,
        kind: str = "community",
        status: str = "verified",
        checked_in: datetime | None = None,
        checked_out: datetime | None = None,
    ) -> Attendance:
        end = start + timedelta(minutes=minutes)
        event = factories.event(
            orgs["nancheng_team"],
            starts_at=start,
            ends_at=end,
            title=factories.numbered("团前教育" if kind == "theory_class" else "社区服务"),
            kind=kind,
            commit=False,
        )
        position = factories.position(event, name="学员" if kind == "theory_class" else "引导", commit=False)
        shift = factories.shift(position, starts_at=start, ends_at=end, capacity=50, commit=False)
        assignment = factories.assignment(
            shift, volunteer, status="completed", source="self", holds_place=True, commit=False
        )
        attendance = factories.attendance(
            assignment, checked_in_at=checked_in or start, checked_out_at=checked_out or end, status="closed"
        )
        now = utcnow()
        entries = record_attendance(attendance, now=now)
        if status != "recorded" and entries:
            submit_entries(event, by=people["team_coordinator"], now=now, entry_ids=[e.id for e in entries])
        for entry in entries:
            if status == "verified":
                verify_entry(entry, by=people["reviewer"], now=now)
            elif status == "rejected":
                reject_entry(entry, by=people["reviewer"], now=now, reason="签到记录与现场不符")
        db.session.commit()
        return attendance

    return make


@pytest.fixture
def this_year():
    """The current local calendar year (pages compute progress at the real current time)."""
    return utcnow().astimezone(LOCAL_TZ).year


@pytest.fixture
def make_ready(serve, this_year, people):
    """make_ready(applicant, evaluated=True, evaluator=None) -> the applicant, given 12 class hours, 20 verified
    service hours this calendar year and a passed evaluation (recorded by `evaluator`, 南城街道's reviewer)."""
    from hours.membership.decisions import record_evaluation

    def make(
        applicant,
        *,
        evaluated: bool = True,
        service_minutes: int = 20 * 60,
        theory_minutes: int = 12 * 45,
        evaluator=None,
    ):
        if theory_minutes:
            serve(applicant, start=local(this_year, 1, 1, 8), minutes=theory_minutes, kind="theory_class")
        if service_minutes:
            serve(applicant, start=local(this_year, 1, 3, 8), minutes=service_minutes)
        if evaluated:
            record_evaluation(applicant, passed=True, note="", by=evaluator or people["reviewer"], now=utcnow())
        from app.extensions import db

        db.session.commit()
        return applicant

    return make
