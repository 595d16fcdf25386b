"""Fixtures for river segments, patrol schedules and patrol check-in: a team coordinator and a river chief (the
other people, volunteer, coordinator of 南城街道 and outsider, come from tests/conftest.py), a segment factory, a
schedule factory and readers of the generated patrols. Segments follow factories.RIVER_LINE (through 南城, Dongguan);
fixed local times are tests.support.local_utc."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from events.models import Shift
from patrols.segments.models import PatrolShift, RiverSegment
from patrols.segments.schedules import ScheduleData, create_schedule
from patrols.segments.services import SegmentData
from tests import factories


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
        return factories.segment_data(town=orgs["nancheng"], team=orgs["nancheng_team"], chief=chief, **changes)

    return make


@pytest.fixture
def make_segment(db, orgs, coordinator, chief):
    """make_segment(now=..., by=..., **segment fields) -> RiverSegment (factories.segment), committed."""

    def make(*, now: datetime | None = None, by=None, **changes) -> RiverSegment:
        return factories.segment(
            by=by or coordinator,
            now=now or utcnow(),
            town=orgs["nancheng"],
            team=orgs["nancheng_team"],
            chief=chief,
            **changes,
        )

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
