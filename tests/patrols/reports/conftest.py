"""Fixtures for patrol reports: a 南城 segment adopted by 南城街道志愿服务队, its patrols (made by tests/factories.py),
the cast around it and readers of what was stored (rows and files). Photo makers (Pillow): helpers.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.permissions import Role
from app.timeutil import utcnow
from events.models import Assignment, AssignmentStatus, Shift
from patrols.reports.models import PatrolFinding, PatrolPhoto, PatrolReport
from patrols.segments.models import PatrolShift, RiverSegment
from tests import factories
from tests.patrols.reports.helpers import PHOTO_LIMIT
from tests.support import local


@pytest.fixture
def app_overrides(tmp_path):
    return {"PATROL_PHOTO_DIR": str(tmp_path / "patrol_photos"), "PATROL_PHOTO_MAX_BYTES": PHOTO_LIMIT}


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def photo_dir(app):
    from pathlib import Path

    return Path(app.config["PATROL_PHOTO_DIR"])


@pytest.fixture
def people(make_user, orgs):
    """Everyone the access rules name, around 南城街道志愿服务队 (the adopting team)."""
    return {
        "town_coordinator": make_user(
            name="黄镇协", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"]
        ),
        "team_coordinator": make_user(name="何队长", role=Role.COORDINATOR, role_org=orgs["nancheng_team"]),
        "city_admin": make_user(name="郑管理", organization=orgs["city"], role=Role.ADMIN, role_org=orgs["city"]),
        "chief": make_user(name="周河长"),
        "patroller": make_user(name="陈巡河"),
        "teammate": make_user(name="林队员"),
        "other_team_volunteer": make_user(name="吴东城", organization=orgs["dongcheng_team"]),
        "branch_volunteer": make_user(name="刘支部", organization=orgs["nancheng_branch"]),
        "outside_coordinator": make_user(
            name="李东协", organization=orgs["dongcheng"], role=Role.COORDINATOR, role_org=orgs["dongcheng"]
        ),
        "town_reviewer": make_user(
            name="孙审核", organization=orgs["nancheng"], role=Role.REVIEWER, role_org=orgs["nancheng"]
        ),
        "branch_coordinator": make_user(
            name="赵支书", organization=orgs["nancheng_branch"], role=Role.COORDINATOR, role_org=orgs["nancheng_branch"]
        ),
    }


@pytest.fixture
def make_segment(db, orgs, people):
    """make_segment(team=..., town=..., chief=...) -> RiverSegment with its patrol event, committed."""

    def make(*, team=None, town=None, chief=None, river="东莞运河", by=None) -> RiverSegment:
        return factories.segment(
            by=by or people["city_admin"],
            now=local(2026, 8, 1, 9),
            town=town or orgs["nancheng"],
            team=team or orgs["nancheng_team"],
            chief=chief or people["chief"],
            river_name=river,
        )

    return make


@pytest.fixture
def segment(make_segment):
    return make_segment()


@pytest.fixture
def make_patrol(db):
    """make_patrol(segment, day, start=time(9), end=time(11), cancelled=False) -> PatrolShift, committed."""

    def make(
        segment: RiverSegment, day: date, start: time = time(9), end: time = time(11), *, cancelled: bool = False
    ) -> PatrolShift:
        return factories.patrol(segment, day, start, end, cancelled=cancelled)

    return make


@pytest.fixture
def patrol(segment, make_patrol):
    """A past Saturday patrol, 2026-10-10 09:00-11:00."""
    return make_patrol(segment, date(2026, 10, 10))


@pytest.fixture
def put_on_patrol(db):
    """put_on_patrol(user, patrol, attended=True, closed=True, status=...) -> Assignment (and Attendance)."""

    def put(
        user,
        patrol: PatrolShift,
        *,
        attended: bool = True,
        closed: bool = True,
        status: str | None = None,
        minutes: int = 120,
    ) -> Assignment:
        shift = db.session.get(Shift, patrol.shift_id)
        assignment = factories.assignment(
            shift,
            user,
            status=status or (AssignmentStatus.COMPLETED.value if attended else AssignmentStatus.ASSIGNED.value),
            source="self",
            holds_place=False,
            commit=False,
        )
        if attended:
            out = shift.starts_at + timedelta(minutes=minutes) if closed else None
            factories.attendance(assignment, checked_in_at=shift.starts_at, checked_out_at=out, commit=False)
        db.session.commit()
        return assignment

    return put


@pytest.fixture
def stored(db, photo_dir):
    """stored() -> (reports, findings, photo rows, files in the photo folder), read afresh."""

    def count() -> tuple[int, int, int, int]:
        db.session.expire_all()
        files = len([p for p in photo_dir.iterdir() if p.is_file()]) if photo_dir.exists() else 0
        return (
            db.session.scalar(select(func.count(PatrolReport.id))),
            db.session.scalar(select(func.count(PatrolFinding.id))),
            db.session.scalar(select(func.count(PatrolPhoto.id))),
            files,
        )

    return count


@pytest.fixture
def now() -> datetime:
    """After every patrol made here."""
    return utcnow()
