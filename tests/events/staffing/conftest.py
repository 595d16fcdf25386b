"""Fixtures for the staffing board, team quotas and roster tests: logged-in clients, a way to put volunteers
on shifts through the real sign-up services, and readers of the result. The people (volunteer, coordinator,
outsider) and the events factories come from tests/conftest.py."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from events.models import Assignment
from events.signup import services as signup


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language; these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def as_user(make_client, login):
    """as_user(user) -> a test client logged in as that user."""

    def make(user):
        return login(user, target=make_client())

    return make


@pytest.fixture
def place(db, coordinator, now):
    """place(shift, volunteer, **kw) -> Assignment: the coordinator assigns through events.signup.services, committed."""

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
        rows = db.session.execute(
            select(Assignment.user_id, Assignment.status).where(
                Assignment.shift_id == shift.id, Assignment.status.in_(("assigned", "waitlisted"))
            )
        ).all()
        return dict(rows)

    return read


@pytest.fixture
def board_cell():
    """board_cell(html, shift_id) -> (coverage class, "filled/needed") of a shift's cell on the board, or None."""

    def read(html: str, shift_id: int) -> tuple[str, str] | None:
        found = re.search(
            rf'<a class="cell ([a-z]+)" id="shift-{shift_id}"[^>]*><span class="count">(\d+/\d+)</span>', html
        )
        return (found.group(1), found.group(2)) if found else None

    return read
