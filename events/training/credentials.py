"""Training credentials (培训资质): granted by completing a course of the volunteer school, may expire.

A course is an event whose `grants_credential_type_id` is set (normally of kind training).
Completing one of its shifts grants that credential, valid for the type's `valid_days`
from the grant (forever when None). Positions require credential types; a credential
counts at a time `at` when granted_at <= at < expires_at.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Exists, and_, exists, or_, select
from sqlalchemy.orm import aliased

from app.errors import ValidationFailed
from app.extensions import db
from events.models import Assignment, AssignmentStatus, Credential, CredentialType, Event, Position, Shift
from notifications.services import notify
from volunteers.accounts.models import User

#: warn this long before a credential expires
EXPIRY_WARNING = timedelta(days=30)
#: tell about an expired credential only if it expired this recently (older ones are old news)
EXPIRED_NOTICE_WINDOW = timedelta(days=7)


def _valid_at(at: datetime) -> ColumnElement[bool]:
    return and_(Credential.granted_at <= at, or_(Credential.expires_at.is_(None), Credential.expires_at > at))


def has_valid_credential(user: User, credential_type: CredentialType, at: datetime) -> bool:
    """True when the user holds an unexpired credential of this type at `at`."""
    return (
        db.session.scalar(
            select(
                exists().where(
                    Credential.user_id == user.id, Credential.credential_type_id == credential_type.id, _valid_at(at)
                )
            )
        )
        or False
    )


def valid_credential_type_ids(user_id: int, at: datetime) -> set[int]:
    """Ids of every credential type the user holds validly at `at` (one query, for sign-up checks)."""
    return set(
        db.session.scalars(
            select(Credential.credential_type_id).where(Credential.user_id == user_id, _valid_at(at)).distinct()
        )
    )


def missing_credentials(user: User, position: Position, at: datetime) -> list[CredentialType]:
    """The credential types a position requires that the user does not validly hold at `at`."""
    required = list(position.required_credentials)
    if not required:
        return []
    held = valid_credential_type_ids(user.id, at)
    return [credential_type for credential_type in required if credential_type.id not in held]


def grant_training_credential(assignment: Assignment, *, now: datetime) -> Credential | None:
    """Grant the course's credential for a completed assignment; None when the event grants none.

    Idempotent: a second call (or a concurrent one) for the same assignment returns the
    credential already granted. The volunteer is told once.
    """
    if assignment.status != AssignmentStatus.COMPLETED.value:
        raise ValidationFailed(_("Only a completed course grants its credential."), code="not_completed")
    event = db.session.get(Event, assignment.shift.event_id)
    if event is None or event.grants_credential_type_id is None:
        return None
    credential_type = db.session.get(CredentialType, event.grants_credential_type_id)
    assert credential_type is not None  # the event's foreign key names it
    existing = _granted_for(assignment.user_id, credential_type.id, event.id)
    if existing is not None:
        return existing
    expires_at = now + timedelta(days=credential_type.valid_days) if credential_type.valid_days else None
    params = {"credential": credential_type.name, "expires_at": expires_at.isoformat() if expires_at else ""}
    # The notification's unique dedupe key also serializes concurrent grants for this assignment.
    if not notify(
        assignment.user_id,
        "credential_granted",
        params=params,
        now=now,
        dedupe_key=f"credential_granted:{assignment.id}",
    ):
        return _granted_for(assignment.user_id, credential_type.id, event.id)
    credential = Credential(
        user_id=assignment.user_id,
        credential_type_id=credential_type.id,
        granted_at=now,
        expires_at=expires_at,
        source_event_id=event.id,
    )
    db.session.add(credential)
    db.session.flush()
    return credential


def _granted_for(user_id: int, credential_type_id: int, event_id: int) -> Credential | None:
    return db.session.scalar(
        select(Credential)
        .where(
            Credential.user_id == user_id,
            Credential.credential_type_id == credential_type_id,
            Credential.source_event_id == event_id,
        )
        .order_by(Credential.id)
        .limit(1)
    )


def grant_missing_credentials(*, now: datetime) -> int:
    """Grant credentials for every completed course assignment that has none yet (a catch-up sweep)."""
    missing = db.session.scalars(
        select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Event, Event.id == Shift.event_id)
        .where(
            Assignment.status == AssignmentStatus.COMPLETED.value,
            Event.grants_credential_type_id.is_not(None),
            ~exists().where(
                Credential.user_id == Assignment.user_id,
                Credential.credential_type_id == Event.grants_credential_type_id,
                Credential.source_event_id == Event.id,
            ),
        )
        .order_by(Assignment.id)
    ).all()
    granted = 0
    for assignment in missing:
        if grant_training_credential(assignment, now=now) is not None:
            granted += 1
    return granted


_Outer = aliased(Credential)


def _renewed() -> Exists:
    """SQL: the same user holds another credential of the same type that lasts longer."""
    later = select(Credential.id).where(
        Credential.user_id == _Outer.user_id,
        Credential.credential_type_id == _Outer.credential_type_id,
        Credential.id != _Outer.id,
        or_(Credential.expires_at.is_(None), Credential.expires_at > _Outer.expires_at),
    )
    return exists(later)


def send_expiry_notices(*, now: datetime) -> dict:
    """Tell volunteers whose credential expires within 30 days, or has just expired, unless renewed."""
    sent = {"expiring": 0, "expired": 0}
    rows = db.session.execute(
        select(_Outer, CredentialType)
        .join(CredentialType, CredentialType.id == _Outer.credential_type_id)
        .where(
            _Outer.expires_at.is_not(None),
            _Outer.expires_at > now - EXPIRED_NOTICE_WINDOW,
            _Outer.expires_at <= now + EXPIRY_WARNING,
            ~_renewed(),
        )
        .order_by(_Outer.expires_at, _Outer.id)
    ).all()
    for credential, credential_type in rows:
        label = "expired" if credential.expires_at <= now else "expiring"
        params = {"credential": credential_type.name, "expires_at": credential.expires_at.isoformat()}
        if notify(
            credential.user_id,
            f"credential_{label}",
            params=params,
            now=now,
            dedupe_key=f"credential_{label}:{credential.id}",
        ):
            sent[label] += 1
    return sent
