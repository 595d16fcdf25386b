"""Hostile-input fixtures: a published 南城 event with a position, a shift and one volunteer's assignment,
and the actors of the access-control matrix around it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import Role
from app.timeutil import LOCAL_TZ, utcnow
from events.models import Assignment, Event, EventKind, EventStatus, Position, Shift


def _local(days: int, hour: int) -> datetime:
    day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


@pytest.fixture
def staffed_event(db, orgs, make_user, make_client, login):
    """A published event of 南城街道 tomorrow; its owner volunteer signed up through the web form."""
    now = utcnow()
    starts = _local(1, 8)
    event = Event(title="敌意测试活动", kind=EventKind.COMMUNITY.value, organization_id=orgs["nancheng"].id,
                  starts_at=starts, ends_at=starts + timedelta(hours=10), place="南城街道鸿福路",
                  status=EventStatus.PUBLISHED.value, signup_opens_at=now - timedelta(days=1),
                  signup_closes_at=starts, published_at=now - timedelta(days=1))
    db.session.add(event)
    db.session.flush()
    position = Position(event_id=event.id, name="引导", min_age=0)
    position.required_skills = []
    db.session.add(position)
    db.session.flush()
    shift = Shift(event_id=event.id, position_id=position.id, starts_at=_local(1, 9), ends_at=_local(1, 12),
                  capacity=10, assigned_count=0, meeting_point="南城街道办事处门口")
    db.session.add(shift)
    db.session.commit()
    owner = make_user(name="主人志愿者", organization=orgs["nancheng_team"])
    response = login(owner, target=make_client()).post(f"/events/shifts/{shift.id}/sign-up")
    assert response.status_code in (302, 303), response.status_code
    assignment = db.session.scalars(select(Assignment).where(Assignment.user_id == owner.id)).one()
    return {"event": event, "position": position, "shift": shift, "assignment": assignment, "owner": owner}


@pytest.fixture
def actors(make_user, orgs, staffed_event):
    """Every actor of the matrix, keyed by a readable name; the object belongs to 南城街道."""
    people = {"owner": staffed_event["owner"],
              "other_volunteer": make_user(name="旁人志愿者", organization=orgs["nancheng_team"])}
    places = {"own": orgs["nancheng"], "sibling": orgs["dongcheng"], "parent": orgs["city"],
              "child": orgs["nancheng_team"]}
    for role in (Role.COORDINATOR, Role.REVIEWER, Role.ADMIN):
        for where, org in places.items():
            people[f"{role.value}@{where}"] = make_user(name=f"{role.value}{where}", organization=org,
                                                       role=role, role_org=org)
    return people
