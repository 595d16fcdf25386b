"""Fixtures for the staffing board, team quotas and roster tests: people, an event with shifts,
and a way to put volunteers on shifts through the real sign-up services."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.models import Role
from events import signup
from events.models import Assignment


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language; these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def coordinator(make_user, orgs):
    """A coordinator of 南城街道: manages the default events (organized by 南城街道)."""
    return make_user(name="黄队长", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"])


@pytest.fixture
def outsider(make_user, orgs):
    """A coordinator of 东城街道: another organization."""
    return make_user(name="东城队长", organization=orgs["dongcheng"], role=Role.COORDINATOR,
                     role_org=orgs["dongcheng"])


@pytest.fixture
def volunteer(make_user):
    """A plain volunteer of 南城街道志愿服务队."""
    return make_user(name="陈小明")


@pytest.fixture
def as_user(make_client, login):
    """as_user(user) -> a test client logged in as that user."""

    def make(user):
        return login(user, target=make_client())

    return make


@pytest.fixture
def place(db, coordinator, now):
    """place(shift, volunteer, **kw) -> Assignment: the coordinator assigns through events.signup, committed."""

    def put(shift, volunteer, **kw):
        assignment = signup.assign(shift, volunteer, by=kw.pop("by", coordinator), now=kw.pop("now", now), **kw)
        db.session.commit()
        return assignment

    return put


@pytest.fixture
def live(db):
    """live(shift) -> {user_id: status} of assigned and waitlisted assignments."""

    def read(shift) -> dict[int, str]:
        db.session.expire_all()
        rows = db.session.execute(select(Assignment.user_id, Assignment.status).where(
            Assignment.shift_id == shift.id, Assignment.status.in_(("assigned", "waitlisted")))).all()
        return dict(rows)

    return read


@pytest.fixture
def board_cell():
    """board_cell(html, shift_id) -> (coverage class, "filled/needed") of a shift's cell on the board, or None."""

    def read(html: str, shift_id: int) -> tuple[str, str] | None:
        found = re.search(rf'<a class="cell ([a-z]+)" id="shift-{shift_id}"[^>]*><span class="count">(\d+/\d+)</span>',
                          html)
        return (found.group(1), found.group(2)) if found else None

    return read
