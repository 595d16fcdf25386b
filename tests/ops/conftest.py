"""Fixtures of the operations tests: shared secrets, the production log handler (`captured`), a shift under way
with its scanner, and submitted hours (the events factories, make_event, make_shift, now, ..., come from
tests/conftest.py). The helpers (gunicorn, relay, HTTP client, waits) are in helpers.py."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests import factories
from tests.ops import helpers
from tests.support import real_keys

captured = helpers.captured


@pytest.fixture
def keys():
    """Real secrets shared by the test's app and the production processes it starts (badge tokens are signed)."""
    return real_keys()


@pytest.fixture
def scene(db, make_user, orgs, make_event, make_position, make_shift, now):
    """A 南城街道 shift under way with an assigned volunteer, and its coordinator's API token (the badge scanner)."""
    from api.tokens import create_token
    from app.permissions import Role

    event = make_event(
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=9),
        signup_opens_at=now - timedelta(days=5),
        signup_closes_at=now + timedelta(hours=9),
    )
    shift = make_shift(
        make_position(event, name="引导"), starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2)
    )
    volunteer = make_user(name="陈小明")
    coordinator = make_user(
        name="黄队长", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"]
    )
    factories.assignment(shift, volunteer)
    _token, secret = create_token(coordinator, "gate scanner", by=coordinator, now=now)
    db.session.commit()
    return SimpleNamespace(event=event, shift=shift, volunteer=volunteer, coordinator=coordinator, api_token=secret)


@pytest.fixture
def submitted_hours(db, make_user, orgs, make_event, make_position, make_shift, now):
    """Yesterday's 南城街道 shift: three volunteers' closed attendance, recorded in the ledger and submitted.

    Returns the event, the entries (oldest first), the coordinator who submitted them and a reviewer of 南城街道.
    """
    from app.permissions import Role
    from hours.ledger import services as ledger
    from hours.ledger.models import HourEntry
    from hours.review.verification import submit_entries

    start = now - timedelta(days=1)
    event = make_event(
        starts_at=start - timedelta(hours=1),
        ends_at=start + timedelta(hours=8),
        signup_opens_at=start - timedelta(days=5),
        signup_closes_at=start,
    )
    shift = make_shift(make_position(event, name="咨询台"), starts_at=start, ends_at=start + timedelta(hours=4))
    coordinator = make_user(
        name="郑协调", organization=orgs["nancheng"], role=Role.COORDINATOR, role_org=orgs["nancheng"]
    )
    reviewer = make_user(name="周审核", organization=orgs["nancheng"], role=Role.REVIEWER, role_org=orgs["nancheng"])
    volunteers = [make_user(name=f"志愿者{n}") for n in range(3)]
    for minutes, volunteer in zip((120, 95, 180), volunteers, strict=False):
        factories.attendance(
            factories.assignment(shift, volunteer, status="completed", commit=False),
            checked_in_at=start,
            checked_out_at=start + timedelta(minutes=minutes),
            method="badge",
            checked_in_by_id=coordinator.id,
            checked_out_by_id=coordinator.id,
            commit=False,
        )
    db.session.commit()
    ledger.collect_closed_attendances(now=now, event_id=event.id)
    submit_entries(event, by=coordinator, now=now)
    db.session.commit()
    entries = list(db.session.scalars(select(HourEntry).where(HourEntry.event_id == event.id).order_by(HourEntry.id)))
    assert [entry.minutes for entry in entries] == [120, 95, 180]
    return SimpleNamespace(
        event=event, entries=entries, coordinator=coordinator, reviewer=reviewer, volunteers=volunteers
    )
