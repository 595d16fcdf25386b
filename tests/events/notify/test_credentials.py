"""Training credentials: granted when a course is completed, counted only until they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import ValidationFailed
from events import tasks
from events.models import AssignmentStatus, Credential, EventKind
from events.training.credentials import (
    grant_training_credential,
    has_valid_credential,
    missing_credentials,
    valid_credential_type_ids,
)


@pytest.fixture
def course(make_event, make_position, make_shift, make_credential_type, local_time):
    """course(valid_days=365) -> a shift of a training course granting 急救培训合格."""

    def make(valid_days: int | None = 365, name: str = "急救培训合格"):
        credential_type = make_credential_type(name, valid_days=valid_days)
        event = make_event(
            kind=EventKind.TRAINING.value, title="志愿者学堂：急救培训", grants_credential_type_id=credential_type.id
        )
        return make_shift(make_position(event, name="学员"), starts_at=local_time(-1, 14)), credential_type

    return make


def test_completing_a_course_grants_its_credential(db, volunteer, course, make_assignment, now, notifications_of):
    shift, credential_type = course(valid_days=365)
    assignment = make_assignment(volunteer, shift, status=AssignmentStatus.COMPLETED.value)

    credential = grant_training_credential(assignment, now=now)
    db.session.commit()

    assert credential.user_id == volunteer.id and credential.source_event_id == shift.event_id
    assert credential.granted_at == now and credential.expires_at == now + timedelta(days=365)
    assert has_valid_credential(volunteer, credential_type, now)
    assert has_valid_credential(volunteer, credential_type, now + timedelta(days=364))
    assert not has_valid_credential(volunteer, credential_type, now + timedelta(days=365))  # expired ones don't count
    assert not has_valid_credential(volunteer, credential_type, now - timedelta(days=1))
    assert [n.kind for n in notifications_of(volunteer)] == ["credential_granted"]


def test_grant_is_idempotent(db, volunteer, course, make_assignment, now, notifications_of):
    shift, _ = course()
    assignment = make_assignment(volunteer, shift, status=AssignmentStatus.COMPLETED.value)

    first = grant_training_credential(assignment, now=now)
    second = grant_training_credential(assignment, now=now + timedelta(hours=1))
    db.session.commit()

    assert first.id == second.id
    assert db.session.scalar(select(func.count(Credential.id))) == 1
    assert len(notifications_of(volunteer)) == 1


def test_permanent_credential_never_expires(db, volunteer, course, make_assignment, now):
    shift, credential_type = course(valid_days=None, name="手语基础")
    credential = grant_training_credential(make_assignment(volunteer, shift, status="completed"), now=now)

    assert credential.expires_at is None
    assert has_valid_credential(volunteer, credential_type, now + timedelta(days=3650))


@pytest.mark.parametrize("status", ["assigned", "waitlisted", "cancelled", "no_show"])
def test_only_completion_grants(db, volunteer, course, make_assignment, now, status):
    shift, credential_type = course()
    assignment = make_assignment(volunteer, shift, status=status)

    with pytest.raises(ValidationFailed) as refused:
        grant_training_credential(assignment, now=now)

    assert refused.value.code == "not_completed"
    assert not has_valid_credential(volunteer, credential_type, now)


def test_event_without_credential_grants_nothing(db, volunteer, make_shift, make_assignment, now):
    assignment = make_assignment(volunteer, make_shift(), status="completed")

    assert grant_training_credential(assignment, now=now) is None
    assert db.session.scalar(select(func.count(Credential.id))) == 0


def test_positions_requirement_and_renewal(
    db, volunteer, course, make_assignment, make_position, grant_credential, now
):
    _, credential_type = course()
    position = make_position(credentials=[credential_type])
    grant_credential(
        volunteer, credential_type, granted_at=now - timedelta(days=400), expires_at=now - timedelta(days=35)
    )

    assert [c.id for c in missing_credentials(volunteer, position, now)] == [credential_type.id]
    assert valid_credential_type_ids(volunteer.id, now) == set()

    grant_credential(
        volunteer, credential_type, granted_at=now - timedelta(days=1), expires_at=now + timedelta(days=364)
    )

    assert missing_credentials(volunteer, position, now) == []
    assert valid_credential_type_ids(volunteer.id, now) == {credential_type.id}


def test_credentials_job_grants_missed_completions_once(db, make_user, course, make_assignment, now, notifications_of):
    shift, credential_type = course()
    done, absent = make_user(), make_user()
    make_assignment(done, shift, status=AssignmentStatus.COMPLETED.value)
    make_assignment(absent, shift, status=AssignmentStatus.NO_SHOW.value)

    first = tasks.keep_credentials(now)
    second = tasks.keep_credentials(now + timedelta(hours=1))

    assert first["granted"] == 1 and second["granted"] == 0
    assert has_valid_credential(done, credential_type, now)
    assert not has_valid_credential(absent, credential_type, now)


def test_expiry_notices_once_and_not_after_renewal(
    db, make_user, make_credential_type, grant_credential, now, notifications_of
):
    credential_type = make_credential_type("急救培训合格", valid_days=365)
    expiring, expired, renewed, long_gone = make_user(), make_user(), make_user(), make_user()
    grant_credential(expiring, credential_type, expires_at=now + timedelta(days=10))
    grant_credential(expired, credential_type, expires_at=now - timedelta(days=1))
    grant_credential(renewed, credential_type, expires_at=now + timedelta(days=5))
    grant_credential(renewed, credential_type, expires_at=now + timedelta(days=370))
    grant_credential(long_gone, credential_type, expires_at=now - timedelta(days=60))

    result = tasks.keep_credentials(now)
    tasks.keep_credentials(now + timedelta(hours=1))

    assert result == {"granted": 0, "expiring": 1, "expired": 1}
    assert [n.kind for n in notifications_of(expiring)] == ["credential_expiring"]
    assert [n.kind for n in notifications_of(expired)] == ["credential_expired"]
    assert notifications_of(renewed) == [] and notifications_of(long_gone) == []

    tasks.keep_credentials(now + timedelta(days=11))  # the first one has now expired: one more notice

    assert [n.kind for n in notifications_of(expiring)] == ["credential_expiring", "credential_expired"]
