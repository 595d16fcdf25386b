"""API test fixtures: the clients of tests/api/helpers.py (they authenticate by session or bearer token and
check every answer against the OpenAPI document), the people, and the events factories as the API tests use
them (tests/factories.py builds the rows)."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.permissions import Role
from app.timeutil import LOCAL_TZ, utcnow
from events.models import Event, Position, Shift
from tests import factories, support
from tests.api import helpers

document = helpers.document
anonymous = helpers.anonymous
session_api = helpers.session_api
token_api = helpers.token_api


@pytest.fixture
def volunteer(make_user):
    return make_user(name="张志愿")


@pytest.fixture
def coordinator(make_user, orgs):
    """Coordinator of 南城街道 (and so of its teams)."""
    return make_user(name="黄协调", role=Role.COORDINATOR, role_org=orgs["nancheng"])


@pytest.fixture
def other_coordinator(make_user, orgs):
    """Coordinator of 东城街道: no say over 南城 events."""
    return make_user(
        name="李东城", organization=orgs["dongcheng_team"], role=Role.COORDINATOR, role_org=orgs["dongcheng"]
    )


@pytest.fixture
def local_time():
    """local_time(days=1, hour=9) -> aware Asia/Shanghai time of that wall-clock hour, days from today (now)."""

    def make(days: int = 1, hour: int = 9, minute: int = 0) -> datetime:
        return support.local_time(utcnow(), days, hour, minute).astimezone(LOCAL_TZ)

    return make


@pytest.fixture
def make_event(db, orgs, local_time):
    """make_event(**fields) -> Event: a published community event of 南城街道 tomorrow 08:00-18:00, open for sign-up
    (factories.open_event, titled API活动N)."""

    def make(*, organization=None, starts_at: datetime | None = None, **fields) -> Event:
        fields.setdefault("title", factories.numbered("API活动"))
        return factories.open_event(
            organization or orgs["nancheng"], now=utcnow(), starts_at=starts_at or local_time(1, 8), **fields
        )

    return make


@pytest.fixture
def make_shift(db, make_event, local_time):
    """make_shift(event=None, position=None, capacity=10, starts_at=None, min_age=0, skills=(), **fields) -> Shift
    (tomorrow 09:00-12:00; in a new position of `event`, or of a new event, when no position is given)."""

    def make(
        event: Event | None = None,
        *,
        position: Position | None = None,
        starts_at: datetime | None = None,
        min_age: int = 0,
        skills=(),
        **fields,
    ) -> Shift:
        if position is None:
            position = factories.position(event or make_event(), min_age=min_age, skills=skills, commit=False)
        return factories.shift(position, starts_at=starts_at or local_time(1, 9), **fields)

    return make
