"""A volunteer's move request and its decision by the receiving organization's staff.

Services flush, never commit; the caller passes the acting user and `now`. A decision is a guarded UPDATE of
the pending row, so two reviewers deciding at once give one decision; the move itself is a guarded UPDATE of
the volunteer's organization, so a change decided against a stale affiliation is refused.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import (
    REVIEWER_ROLES,
    can_cancel_affiliation,
    can_decide_affiliation,
    role_paths,
    subtree_filter,
)
from volunteers.accounts.models import User
from volunteers.affiliation.models import AffiliationChange, ChangeKind, ChangeStatus
from volunteers.affiliation.signals import affiliation_decided
from volunteers.organizations.models import Organization

PENDING = ChangeStatus.PENDING.value
NOTE_LENGTH = 500


def status_label(status: str) -> str:
    """The readable name of a change's status."""
    labels = {
        ChangeStatus.PENDING.value: _("Pending"),
        ChangeStatus.APPROVED.value: _("Approved"),
        ChangeStatus.REFUSED.value: _("Refused"),
        ChangeStatus.CANCELLED.value: _("Cancelled"),
    }
    return labels.get(status, status)


def kind_label(kind: str) -> str:
    """The readable name of a change's kind."""
    labels = {
        ChangeKind.REQUEST.value: _("Request"),
        ChangeKind.STAFF_MOVE.value: _("Moved by staff"),
        ChangeKind.GRADUATION.value: _("Graduate hand-over"),
    }
    return labels.get(kind, kind)


def target_organization(organization_id: int | None, *, field: str = "organization_id") -> Organization:
    """The organization a move goes to; a clear refusal beside `field` when there is none with this id."""
    organization = db.session.get(Organization, organization_id) if organization_id else None
    if organization is None:
        raise ValidationFailed(_("Choose the organization from the list."), field=field, code="unknown_organization")
    if organization.is_closed:
        raise ValidationFailed(
            _("%(name)s is closed.", name=organization.display_name), field=field, code="closed_organization"
        )
    return organization


def pending_change(volunteer: User) -> AffiliationChange | None:
    """The volunteer's one pending change (a request or a hand-over), if any."""
    return db.session.scalar(
        select(AffiliationChange).where(
            AffiliationChange.volunteer_id == volunteer.id, AffiliationChange.status == PENDING
        )
    )


def changes_of(volunteer: User) -> list[AffiliationChange]:
    """Every change of the volunteer, newest first: the affiliation history and the requests decided."""
    return list(
        db.session.scalars(
            select(AffiliationChange)
            .where(AffiliationChange.volunteer_id == volunteer.id)
            .options(
                joinedload(AffiliationChange.from_organization),
                joinedload(AffiliationChange.to_organization),
                joinedload(AffiliationChange.decided_by),
                joinedload(AffiliationChange.requested_by),
            )
            .order_by(AffiliationChange.created_at.desc(), AffiliationChange.id.desc())
        )
    )


def history_of(volunteer: User) -> list[AffiliationChange]:
    """The applied changes of the volunteer (from, to, when, by), newest first."""
    return [change for change in changes_of(volunteer) if change.status == ChangeStatus.APPROVED.value]


def snapshot(change: AffiliationChange, **extra: object) -> dict:
    """What the audit trail keeps of a change: who, from where to where (names and ids), which kind."""
    return {
        "volunteer": f"{change.volunteer.name} ({change.volunteer.volunteer_number})",
        "volunteer_id": change.volunteer_id,
        "kind": change.kind,
        "from": change.from_organization.name,
        "from_id": change.from_organization_id,
        "to": change.to_organization.name,
        "to_id": change.to_organization_id,
        **extra,
    }


def _clean(note: str | None) -> str:
    return (note or "").strip()[:NOTE_LENGTH]


def add_pending(change: AffiliationChange) -> AffiliationChange:
    """Insert a pending change; the partial unique index refuses a second one for the same volunteer."""
    try:
        with db.session.begin_nested():
            db.session.add(change)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("%(name)s already has a pending change of affiliation.", name=change.volunteer.name),
            code="pending_change",
            field="organization_id",
        ) from exc
    return change


def request_move(
    volunteer: User, to_organization_id: int | None, note: str = "", *, now: datetime
) -> AffiliationChange:
    """The volunteer asks to move to another organization; its staff decide. One pending change at a time."""
    target = target_organization(to_organization_id)
    if target.id == volunteer.organization_id:
        raise ValidationFailed(
            _("You already belong to %(org)s.", org=target.display_name),
            field="organization_id",
            code="same_organization",
        )
    if pending_change(volunteer) is not None:
        raise Conflict(
            _("You already have a pending request: cancel it before asking for another move."),
            code="pending_change",
            field="organization_id",
        )
    change = AffiliationChange(
        volunteer=volunteer,
        from_organization_id=volunteer.organization_id,
        to_organization=target,
        kind=ChangeKind.REQUEST.value,
        status=PENDING,
        requested_by_id=volunteer.id,
        reason=_clean(note),
        created_at=now,
    )
    add_pending(change)
    audit.record(
        "affiliation.request",
        actor=volunteer,
        now=now,
        target=change,
        organization_id=target.id,
        after=snapshot(change, note=change.reason),
    )
    return change


def _close(change: AffiliationChange, status: str, *, by: User, now: datetime, reason: str) -> None:
    """Move a pending change to `status` with a guarded UPDATE; refused when it is no longer pending."""
    closed = rowcount(
        db.session.execute(
            update(AffiliationChange)
            .where(AffiliationChange.id == change.id, AffiliationChange.status == PENDING)
            .values(status=status, decided_by_id=by.id, decided_at=now, decision_reason=reason)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.expire(change)
    if closed != 1:
        raise Conflict(
            _("This change is no longer pending: it is %(status)s.", status=status_label(change.status)),
            code="already_decided",
        )


def move_volunteer(volunteer: User, from_organization_id: int, to_organization_id: int, *, now: datetime) -> None:
    """Set the volunteer's organization, only if it is still `from_organization_id` (guarded UPDATE)."""
    moved = rowcount(
        db.session.execute(
            update(User)
            .where(User.id == volunteer.id, User.organization_id == from_organization_id)
            .values(organization_id=to_organization_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.expire(volunteer, ["organization_id", "organization", "updated_at"])
    if moved != 1:
        raise Conflict(
            _("%(name)s's affiliation changed in the meantime; nothing was moved.", name=volunteer.name),
            code="affiliation_changed",
        )


def approve_change(change: AffiliationChange, *, by: User, now: datetime, note: str = "") -> AffiliationChange:
    """Accept a request or a hand-over into the decider's subtree: the volunteer moves; the row stays as history."""
    if not can_decide_affiliation(by, change):
        raise PermissionDenied(
            _("Only reviewers and administrators of the receiving organization decide this change."),
            code="not_receiving_staff",
        )
    volunteer, from_id, to_id = change.volunteer, change.from_organization_id, change.to_organization_id
    _close(change, ChangeStatus.APPROVED.value, by=by, now=now, reason=_clean(note))
    move_volunteer(volunteer, from_id, to_id, now=now)
    audit.record(
        "affiliation.approve",
        actor=by,
        now=now,
        target=change,
        organization_id=to_id,
        after=snapshot(change, status=change.status),
    )
    affiliation_decided.send(change, now=now)
    return change


def refuse_change(change: AffiliationChange, *, by: User, now: datetime, reason: str) -> AffiliationChange:
    """Refuse a request or a hand-over, with the reason the volunteer will read; nobody moves."""
    if not can_decide_affiliation(by, change):
        raise PermissionDenied(
            _("Only reviewers and administrators of the receiving organization decide this change."),
            code="not_receiving_staff",
        )
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed(
            _("Say why the change is refused: the volunteer will read it."),
            field="decision_reason",
            code="reason_required",
        )
    _close(change, ChangeStatus.REFUSED.value, by=by, now=now, reason=reason)
    audit.record(
        "affiliation.refuse",
        actor=by,
        now=now,
        target=change,
        organization_id=change.to_organization_id,
        after=snapshot(change, status=change.status, reason=reason),
    )
    affiliation_decided.send(change, now=now)
    return change


def cancel_change(change: AffiliationChange, *, by: User, now: datetime) -> AffiliationChange:
    """Withdraw a pending change: the volunteer their own request, the university a graduate's hand-over."""
    if not can_cancel_affiliation(by, change):
        raise PermissionDenied(_("You may not withdraw this change."), code="not_yours")
    _close(change, ChangeStatus.CANCELLED.value, by=by, now=now, reason="")
    audit.record(
        "affiliation.cancel",
        actor=by,
        now=now,
        target=change,
        organization_id=change.to_organization_id,
        after=snapshot(change, status=change.status),
    )
    return change


def queue_query(user: User, *, kind: str | None = None) -> Select:
    """Pending changes into the subtrees where the user reviews or administers, oldest first (not their own)."""
    query = (
        select(AffiliationChange)
        .join(Organization, Organization.id == AffiliationChange.to_organization_id)
        .where(
            AffiliationChange.status == PENDING,
            AffiliationChange.volunteer_id != user.id,
            subtree_filter(Organization.path, role_paths(user, REVIEWER_ROLES)),
        )
        .options(
            joinedload(AffiliationChange.volunteer),
            joinedload(AffiliationChange.from_organization),
            joinedload(AffiliationChange.to_organization),
            joinedload(AffiliationChange.requested_by),
        )
        .order_by(AffiliationChange.created_at, AffiliationChange.id)
    )
    if kind:
        query = query.where(AffiliationChange.kind == kind)
    return query


def queue_count(user: User) -> int:
    """How many pending changes wait for the user's decision (one COUNT)."""
    paths = role_paths(user, REVIEWER_ROLES)
    if not paths:
        return 0
    return (
        db.session.scalar(
            select(func.count(AffiliationChange.id))
            .join(Organization, Organization.id == AffiliationChange.to_organization_id)
            .where(
                AffiliationChange.status == PENDING,
                AffiliationChange.volunteer_id != user.id,
                subtree_filter(Organization.path, paths),
            )
        )
        or 0
    )
