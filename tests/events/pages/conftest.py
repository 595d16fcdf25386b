"""Helpers for the event page tests: a logged-in coordinator, form data, query counting."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event as sa_event

from app.permissions import Role
from tests.support import local_input


@pytest.fixture
def coordinator(make_user, orgs):
    """A coordinator of 南城街道 (and so of its whole subtree)."""
    return make_user(role=Role.COORDINATOR, role_org=orgs["nancheng"], organization=orgs["nancheng_team"])


@pytest.fixture
def coordinator_client(coordinator, make_client, login):
    """A client logged in as the 南城街道 coordinator."""
    return login(coordinator, target=make_client())


@pytest.fixture
def volunteer(make_user, orgs):
    """A plain volunteer of the 南城街道 team, born 2000."""
    return make_user(organization=orgs["nancheng_team"])


@pytest.fixture
def volunteer_client(volunteer, make_client, login):
    """A client logged in as the plain volunteer."""
    return login(volunteer, target=make_client())


@pytest.fixture
def event_form(orgs, local_time):
    """event_form(**overrides) -> POST data for the event form: a community service of 南城街道 in 3 days."""

    def make(**overrides) -> dict:
        data = {
            "title": "南城社区关爱长者",
            "kind": "community",
            "organization_id": str(orgs["nancheng"].id),
            "starts_at": local_input(local_time(3, 8)),
            "ends_at": local_input(local_time(3, 18)),
            "place": "南城街道鸿福社区",
            "latitude": "",
            "longitude": "",
            "checkin_radius_m": "",
            "geofence_mode": "flag",
            "description": "陪伴长者，整理社区图书角。",
            "brand_tag": "青春情暖",
            "signup_opens_at": "",
            "signup_closes_at": local_input(local_time(2, 20)),
            "cancel_cutoff_hours": "24",
            "checkin_opens_minutes": "30",
            "grants_credential_type_id": "",
        }
        data.update({k: v for k, v in overrides.items() if v is not None})
        for key in [k for k, v in overrides.items() if v is None]:
            data.pop(key, None)
        return data

    return make


@pytest.fixture
def count_queries(db):
    """with count_queries() as counted: ... ; counted["n"] is the number of SQL statements run."""

    @contextmanager
    def counting():
        counted = {"n": 0}

        def before(conn, cursor, statement, parameters, context, executemany):
            counted["n"] += 1

        engine = db.engine
        sa_event.listen(engine, "before_cursor_execute", before)
        try:
            yield counted
        finally:
            sa_event.remove(engine, "before_cursor_execute", before)

    return counting
