"""Fixtures for patrol reports: a 南城 segment adopted by 南城街道志愿服务队, its patrols (made with the models),
the cast around it, photo makers (Pillow) and readers of what was stored (rows and files)."""

from __future__ import annotations

import io
import itertools
import os
from datetime import date, datetime, time

import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from checkin.models import Attendance, AttendanceStatus
from events.models import Assignment, AssignmentStatus, Shift
from patrols.reports.models import PatrolFinding, PatrolPhoto, PatrolReport
from patrols.segments.models import PatrolShift, RiverSegment
from patrols.segments.services import SegmentData, create_segment

#: 东莞运河 through 南城: about 1 km east, then 1.5 km north-east
LINE = [(23.0200, 113.7500), (23.0200, 113.7600), (23.0300, 113.7700)]
PHOTO_LIMIT = 128 * 1024  # small: the test client spools bodies over 500 KB to files it never closes

_names = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An Asia/Shanghai wall-clock time, aware."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


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
        data = SegmentData(
            river_name=river,
            name=f"南城段{next(_names)}",
            town_id=(town or orgs["nancheng"]).id,
            team_id=(team or orgs["nancheng_team"]).id,
            points=list(LINE),
            chief_mobile=(chief or people["chief"]).mobile,
        )
        segment = create_segment(data, by=by or people["city_admin"], now=local(2026, 8, 1, 9))
        db.session.commit()
        return segment

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
        starts_at = datetime.combine(day, start, tzinfo=LOCAL_TZ)
        ends_at = datetime.combine(day, end, tzinfo=LOCAL_TZ)
        shift = Shift(
            event_id=segment.event_id,
            position_id=segment.position_id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=5,
            assigned_count=0,
            is_cancelled=cancelled,
        )
        db.session.add(shift)
        db.session.flush()
        patrol = PatrolShift(shift_id=shift.id, segment_id=segment.id, local_date=day, created_at=starts_at)
        db.session.add(patrol)
        db.session.commit()
        return patrol

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
        assignment = Assignment(
            shift_id=shift.id,
            user_id=user.id,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            status=status or (AssignmentStatus.COMPLETED.value if attended else AssignmentStatus.ASSIGNED.value),
        )
        db.session.add(assignment)
        db.session.flush()
        if attended:
            from datetime import timedelta

            out = shift.starts_at + timedelta(minutes=minutes) if closed else None
            db.session.add(
                Attendance(
                    user_id=user.id,
                    event_id=shift.event_id,
                    shift_id=shift.id,
                    assignment_id=assignment.id,
                    checked_in_at=shift.starts_at,
                    checked_out_at=out,
                    status=AttendanceStatus.CLOSED.value if closed else AttendanceStatus.OPEN.value,
                    check_in_method="kiosk",
                    check_out_method="kiosk" if closed else None,
                    created_at=shift.starts_at,
                    updated_at=out or shift.starts_at,
                )
            )
        db.session.commit()
        return assignment

    return put


def jpeg_bytes(size=(800, 600), *, color=(30, 120, 200), exif=None, quality=90, noise=False) -> bytes:
    """A JPEG made with Pillow (optionally random pixels, so it does not compress, and with EXIF)."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    out = io.BytesIO()
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF that leaks where and with what a photo was taken: GPS position, camera, time, orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "HUAWEI"
    exif[0x0110] = "P60 Pro"
    exif[0x0132] = "2026:10:10 09:30:00"
    exif[0x8825] = {1: "N", 2: (23.0, 1.0, 12.5), 3: "E", 4: (113.0, 45.0, 6.0), 0: b"\x02\x02\x00\x00"}
    return exif


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
