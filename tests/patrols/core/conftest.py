"""Fixtures for river segments, patrol schedules and patrol check-in: a team coordinator and a river chief (the
other people, volunteer, coordinator of 南城街道 and outsider, come from tests/conftest.py), a segment factory, a
schedule factory, fixed local times, and the line every segment here follows (through 南城, Dongguan)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from events.models import Shift
from patrols.segments.models import PatrolShift, RiverSegment
from patrols.segments.schedules import ScheduleData, create_schedule
from patrols.segments.services import SegmentData, create_segment

#: an east-west piece of about 1 km, then a north-east piece of about 1.5 km
LINE = [(23.0200, 113.7500), (23.0200, 113.7600), (23.0300, 113.7700)]

_names = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An Asia/Shanghai wall-clock time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(utcnow().tzinfo)


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def team_coordinator(make_user, orgs):
    """A coordinator of the adopting team only."""
    return make_user(
        name="何队长", organization=orgs["nancheng_team"], role=Role.COORDINATOR, role_org=orgs["nancheng_team"]
    )


@pytest.fixture
def chief(make_user):
    """The volunteer river chief (志愿者河长) of the segments made here."""
    return make_user(name="周河长")


@pytest.fixture
def segment_data(orgs, chief):
    """segment_data(**changes) -> SegmentData of a 南城 segment adopted by 南城街道志愿服务队."""

    def make(**changes) -> SegmentData:
        values = {
            "river_name": "东莞运河",
            "name": f"南城段{next(_names)}",
            "town_id": orgs["nancheng"].id,
            "team_id": orgs["nancheng_team"].id,
            "points": list(LINE),
            "chief_mobile": chief.mobile,
        }
        values.update(changes)
        return SegmentData(**values)

    return make


@pytest.fixture
def make_segment(db, coordinator, segment_data):
    """make_segment(now=..., by=..., **segment fields) -> RiverSegment, committed."""

    def make(*, now: datetime | None = None, by=None, **changes) -> RiverSegment:
        segment = create_segment(segment_data(**changes), by=by or coordinator, now=now or utcnow())
        db.session.commit()
        return segment

    return make


@pytest.fixture
def make_schedule(db, coordinator):
    """make_schedule(segment, now=..., weekdays=[5], starts=time(9), ends=time(11), headcount=3, ...) -> schedule."""

    def make(
        segment: RiverSegment,
        *,
        now: datetime,
        weekdays=(5,),
        starts=time(9),
        ends=time(11),
        headcount=3,
        valid_from: date | None = None,
        valid_until: date | None = None,
        meeting_point="元美桥",
        by=None,
    ):
        data = ScheduleData(
            weekdays=list(weekdays),
            starts_local=starts,
            ends_local=ends,
            headcount=headcount,
            valid_from=valid_from or now.astimezone(LOCAL_TZ).date(),
            valid_until=valid_until,
            meeting_point=meeting_point,
        )
        schedule = create_schedule(segment, data, by=by or coordinator, now=now)
        db.session.commit()
        return schedule

    return make


@pytest.fixture
def patrol_shifts(db):
    """patrol_shifts(segment) -> [(local_date, Shift)] of the segment's generated shifts, by date (read afresh)."""

    def read(segment: RiverSegment, *, live_only: bool = True) -> list[tuple[date, Shift]]:
        db.session.expire_all()
        statement = (
            select(PatrolShift.local_date, Shift)
            .join(Shift, Shift.id == PatrolShift.shift_id)
            .where(PatrolShift.segment_id == segment.id)
            .order_by(PatrolShift.local_date)
        )
        if live_only:
            statement = statement.where(Shift.is_cancelled.is_(False))
        return [(day, shift) for day, shift in db.session.execute(statement).all()]

    return read
