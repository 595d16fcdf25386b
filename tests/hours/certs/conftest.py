"""Fixtures of the certificate and report tests: hours made through the real ledger.

`credit(volunteer, event, start, minutes, status=...)` puts the volunteer on a shift of the
event, closes an attendance of exactly that time and takes it through the ledger's own
services: recorded → submitted (by the city coordinator) → verified or rejected (by the
city reviewer). Only the status asked for is reached, so pending and rejected hours exist too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.permissions import Role
from events.models import Event, EventKind, Position
from tests import factories
from tests.support import local


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' after every service the tests create."""
    return local(2026, 6, 30, 12)


@pytest.fixture
def cast(make_user, orgs):
    """Volunteers of 南城街道 and 东城街道 and the staff around them."""
    return {
        "volunteer": make_user(name="张三桐", organization=orgs["nancheng_team"]),
        "other_volunteer": make_user(name="李四", organization=orgs["nancheng_team"]),
        "dongcheng_volunteer": make_user(name="王五", organization=orgs["dongcheng_team"]),
        "coordinator": make_user(
            name="陈协调", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"]
        ),
        "reviewer": make_user(
            name="周审核", organization=orgs["nancheng"], role=Role.REVIEWER, role_org=orgs["nancheng"]
        ),
        "dongcheng_reviewer": make_user(
            name="吴东审", organization=orgs["dongcheng"], role=Role.REVIEWER, role_org=orgs["dongcheng"]
        ),
        "dongcheng_coordinator": make_user(
            name="郑东协", organization=orgs["dongcheng"], role=Role.COORDINATOR, role_org=orgs["dongcheng"]
        ),
        "city_coordinator": make_user(
            name="郑市协", organization=orgs["city"], role=Role.COORDINATOR, role_org=orgs["city"]
        ),
        "city_reviewer": make_user(name="黄市审", organization=orgs["city"], role=Role.REVIEWER, role_org=orgs["city"]),
    }


@pytest.fixture
def make_event(db, orgs):
    """make_event(day, organization=..., kind=..., brand_tag=..., title=...) -> Event over the local day (06:00-22:00),
    titled 社区服务N unless told, committed."""

    def make(
        day: datetime,
        *,
        organization=None,
        kind: str = EventKind.COMMUNITY.value,
        brand_tag: str = "",
        title: str | None = None,
    ) -> Event:
        return factories.event(
            organization or orgs["nancheng"],
            starts_at=day.replace(hour=6),
            ends_at=day.replace(hour=22),
            title=title or factories.numbered("社区服务"),
            kind=kind,
            brand_tag=brand_tag,
        )

    return make


@pytest.fixture
def credit(db, cast, now):
    """credit(volunteer, event, start, minutes, status="verified", position="引导") -> the line's first HourEntry."""
    from hours.ledger.recording import record_attendance
    from hours.review import verification

    def give(
        volunteer,
        event: Event,
        start: datetime,
        minutes: int,
        *,
        status: str = "verified",
        position: str = "引导",
        submitter=None,
        verifier=None,
    ):
        end = start + timedelta(minutes=minutes)
        spot = db.session.scalar(select(Position).where(Position.event_id == event.id, Position.name == position))
        if spot is None:
            spot = factories.position(event, name=position, commit=False)
        shift = factories.shift(spot, starts_at=start, ends_at=end, commit=False)
        assignment = factories.assignment(shift, volunteer, status="completed", source="self", commit=False)
        attendance = factories.attendance(assignment, checked_in_at=start, checked_out_at=end, commit=False)
        entries = record_attendance(attendance, now=now)
        assert len(entries) == 1 and entries[0].minutes == minutes
        entry = entries[0]
        if status != "recorded":
            submitted = verification.submit_entries(
                event, by=submitter or cast["city_coordinator"], now=now, entry_ids=[entry.id]
            )
            assert submitted == 1
        if status == "verified":
            verification.verify_entry(entry, by=verifier or cast["city_reviewer"], now=now)
        elif status == "rejected":
            verification.reject_entry(entry, by=verifier or cast["city_reviewer"], now=now, reason="不符合")
        db.session.commit()
        return entry

    return give


@pytest.fixture
def client_of(make_client, login):
    """client_of(user) -> a logged-in English client of its own."""

    def make(user):
        return login(user, target=make_client())

    return make
