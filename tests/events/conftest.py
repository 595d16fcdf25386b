"""Factories shared by the events tests: events, positions, shifts, skills, credentials, quotas.

Every factory returns a callable with sensible defaults and commits what it makes:
a published event of 南城街道 (orgs["nancheng"]) open for sign-up, with one position
and shifts tomorrow 09:00-12:00 Asia/Shanghai. Keep this file additive: several
engineers build on it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.timeutil import LOCAL_TZ, utcnow
from events.models import (
    Credential,
    CredentialType,
    Event,
    EventKind,
    EventStatus,
    Position,
    Shift,
    TeamQuota,
)
from volunteers.accounts.models import Skill, User
from volunteers.organizations.models import Organization

_sequence = itertools.count(1)


@pytest.fixture
def now() -> datetime:
    """The test's current time (aware UTC), fixed once per test; pass it to services as `now`."""
    return utcnow()


@pytest.fixture
def local_time(now):
    """local_time(days=1, hour=9, minute=0) -> aware UTC datetime of that Asia/Shanghai wall-clock time,
    `days` days after today (local date of `now`)."""

    def make(days: int = 1, hour: int = 9, minute: int = 0) -> datetime:
        day = now.astimezone(LOCAL_TZ).date() + timedelta(days=days)
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)
        return local.astimezone(now.tzinfo)

    return make


@pytest.fixture
def make_event(db, orgs, now, local_time):
    """make_event(**fields) -> Event, committed.

    Defaults: community service of orgs["nancheng"], published, tomorrow 08:00-18:00 local,
    sign-up opened a day ago and closing when the event starts, cancel cut-off 24 h.
    Pass status="draft" for an unpublished one; any Event column can be overridden.
    """

    def make(**fields) -> Event:
        n = next(_sequence)
        organization: Organization = fields.pop("organization", None) or orgs["nancheng"]
        starts_at = fields.pop("starts_at", None) or local_time(1, 8)
        values = {
            "title": f"测试活动{n}",
            "kind": EventKind.COMMUNITY.value,
            "organization_id": organization.id,
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=10),
            "place": "南城街道鸿福路",
            "status": EventStatus.PUBLISHED.value,
            "signup_opens_at": now - timedelta(days=1),
            "signup_closes_at": starts_at,
            "cancel_cutoff_hours": 24,
            "published_at": now - timedelta(days=1),
        }
        values.update(fields)
        event = Event(**values)
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def make_skill(db):
    """make_skill(name, kind="skill") -> Skill (get or create), committed."""

    def make(name: str, kind: str = "skill", name_en: str = "") -> Skill:
        skill = db.session.scalar(select(Skill).where(Skill.name == name))
        if skill is None:
            skill = Skill(name=name, kind=kind, name_en=name_en or name)
            db.session.add(skill)
            db.session.commit()
        return skill

    return make


@pytest.fixture
def make_credential_type(db):
    """make_credential_type(name="急救培训合格", valid_days=None) -> CredentialType (get or create), committed."""

    def make(name: str = "急救培训合格", valid_days: int | None = None) -> CredentialType:
        credential_type = db.session.scalar(select(CredentialType).where(CredentialType.name == name))
        if credential_type is None:
            credential_type = CredentialType(name=name, valid_days=valid_days)
            db.session.add(credential_type)
            db.session.commit()
        return credential_type

    return make


@pytest.fixture
def grant_credential(db, now):
    """grant_credential(user, credential_type, expires_at=None, granted_at=now) -> Credential, committed."""

    def grant(
        user: User,
        credential_type: CredentialType,
        *,
        expires_at: datetime | None = None,
        granted_at: datetime | None = None,
    ) -> Credential:
        credential = Credential(
            user_id=user.id,
            credential_type_id=credential_type.id,
            granted_at=granted_at or now - timedelta(days=30),
            expires_at=expires_at,
        )
        db.session.add(credential)
        db.session.commit()
        return credential

    return grant


@pytest.fixture
def make_position(db, make_event):
    """make_position(event=None, name=None, skills=[Skill], credentials=[CredentialType], min_age=0, **fields)
    -> Position, committed (a new default event when none is given)."""

    def make(
        event: Event | None = None,
        *,
        name: str | None = None,
        skills: list[Skill] = (),
        credentials: list[CredentialType] = (),
        min_age: int = 0,
        **fields,
    ) -> Position:
        event = event or make_event()
        position = Position(
            event_id=event.id,
            name=name or f"引导{next(_sequence)}",
            min_age=min_age,
            description=fields.pop("description", "现场引导"),
            **fields,
        )
        position.required_skills = list(skills)
        position.required_credentials = list(credentials)
        db.session.add(position)
        db.session.commit()
        return position

    return make


@pytest.fixture
def make_shift(db, make_position, local_time):
    """make_shift(position=None, starts_at=None, ends_at=None, capacity=10, **fields) -> Shift, committed.

    Defaults: tomorrow 09:00-12:00 Asia/Shanghai (ends 3 h after `starts_at` when only that is given),
    10 places, in a new default position when none is given.
    """

    def make(
        position: Position | None = None,
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        capacity: int = 10,
        **fields,
    ) -> Shift:
        position = position or make_position()
        starts_at = starts_at or local_time(1, 9)
        ends_at = ends_at or starts_at + timedelta(hours=3)
        shift = Shift(
            event_id=position.event_id,
            position_id=position.id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            assigned_count=0,
            meeting_point=fields.pop("meeting_point", "南城街道办事处门口"),
            **fields,
        )
        db.session.add(shift)
        db.session.commit()
        return shift

    return make


@pytest.fixture
def make_quota(db):
    """make_quota(position, organization, quantity=5) -> TeamQuota, committed."""

    def make(position: Position, organization: Organization, quantity: int = 5) -> TeamQuota:
        quota = TeamQuota(position_id=position.id, organization_id=organization.id, quantity=quantity)
        db.session.add(quota)
        db.session.commit()
        return quota

    return make
