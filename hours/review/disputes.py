"""Disputes: a volunteer objects to an entry with a message; a reviewer of the organizer answers.

The reviewers told are those at the organizer or, when it has none, at its nearest ancestor
that has some. An answer may correct the line at the same time (a submitted delta entry that
another reviewer verifies). Opening and answering are both in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import audit, permissions
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from hours import notices  # noqa: F401  (registers the hours notification kinds)
from hours.ledger.models import HourDispute, HourEntry
from hours.ledger.services import correct_entry
from notifications.services import notify
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, RoleGrant

OPEN, ANSWERED = "open", "answered"
MAX_MESSAGE = 2000


def reviewers_to_tell(org: Organization) -> list[int]:
    """Reviewers at the organizer, or at its nearest ancestor that has any."""
    ids = [int(part) for part in org.path.strip("/").split("/") if part] or [org.id]
    grants = db.session.execute(
        select(RoleGrant.organization_id, RoleGrant.user_id).where(
            RoleGrant.organization_id.in_(ids), RoleGrant.role.in_(permissions.REVIEWER_ROLES)
        )
    ).all()
    by_org: dict[int, set[int]] = {}
    for org_id, user_id in grants:
        by_org.setdefault(org_id, set()).add(user_id)
    for org_id in reversed(ids):
        if by_org.get(org_id):
            return sorted(by_org[org_id])
    return []


def _params(entry: HourEntry) -> dict:
    return {"event": entry.event.title, "minutes": entry.minutes, "date": entry.service_date.isoformat()}


def open_dispute(entry: HourEntry, *, by: User, message: str, now: datetime) -> HourDispute:
    """The volunteer disputes one of their entries; the organizer's reviewers are told."""
    if not permissions.can_dispute_hours(by, entry):
        raise PermissionDenied(_("You can dispute only your own hours."), code="not_allowed")
    message = (message or "").strip()
    if not message:
        raise ValidationFailed(_("Say what is wrong with these hours."), code="message_required", field="message")
    if len(message) > MAX_MESSAGE:
        raise ValidationFailed(
            _("Keep the message under %(max)s characters.", max=MAX_MESSAGE), code="message_too_long", field="message"
        )
    dispute = HourDispute(
        entry_id=entry.id,
        volunteer_id=by.id,
        organization_id=entry.organization_id,
        message=message,
        created_at=now,
        status=OPEN,
    )
    try:
        with db.session.begin_nested():
            db.session.add(dispute)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_("You already have an open dispute about these hours."), code="dispute_open") from exc
    params = {**_params(entry), "volunteer": by.name, "message": message[:200]}
    for reviewer_id in reviewers_to_tell(entry.organization):
        if reviewer_id != by.id:
            notify(
                reviewer_id,
                "hours_disputed",
                params=params,
                link=f"/hours/disputes/{dispute.id}",
                now=now,
                dedupe_key=f"hours_disputed:{dispute.id}:{reviewer_id}",
            )
    audit.record(
        "hours.dispute",
        actor=by,
        now=now,
        target=entry,
        organization_id=entry.organization_id,
        after={"dispute": dispute.id, "status": OPEN},
        note=message,
    )
    return dispute


def answer_dispute(
    dispute: HourDispute, *, by: User, answer: str, now: datetime, corrected_minutes: int | None = None
) -> HourDispute:
    """A reviewer answers a dispute, optionally correcting the line's total; the volunteer is told."""
    if not permissions.can_answer_dispute(by, dispute):
        raise PermissionDenied(_("You may not answer this dispute."), code="not_allowed")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(_("Write an answer for the volunteer."), code="answer_required", field="answer")
    correction = None
    if corrected_minutes is not None:
        correction = correct_entry(dispute.entry, minutes=corrected_minutes, by=by, now=now, reason=answer)
    changed = rowcount(
        db.session.execute(
            update(HourDispute)
            .where(HourDispute.id == dispute.id, HourDispute.status == OPEN)
            .values(
                status=ANSWERED,
                answer=answer,
                answered_by_id=by.id,
                answered_at=now,
                correction_entry_id=correction.id if correction is not None else None,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        raise Conflict(_("This dispute was already answered."), code="dispute_answered")
    db.session.refresh(dispute)
    notify(
        dispute.volunteer_id,
        "hours_dispute_answered",
        params={**_params(dispute.entry), "answer": answer[:300]},
        link="/hours/",
        now=now,
        dedupe_key=f"hours_dispute_answered:{dispute.id}",
    )
    audit.record(
        "hours.dispute_answer",
        actor=by,
        now=now,
        target=dispute.entry,
        organization_id=dispute.organization_id,
        before={"dispute": dispute.id, "status": OPEN},
        after={
            "dispute": dispute.id,
            "status": ANSWERED,
            "correction": correction.id if correction is not None else None,
        },
        note=answer,
    )
    return dispute


def disputes_for_reviewer(user: User, *, status: str | None = OPEN) -> Select:
    """Disputes about events organized inside the reviewer's subtrees, oldest open first."""
    paths = permissions.role_paths(user, permissions.REVIEWER_ROLES)
    query = (
        select(HourDispute)
        .join(Organization, Organization.id == HourDispute.organization_id)
        .where(permissions.subtree_filter(Organization.path, paths))
        .options(joinedload(HourDispute.volunteer), joinedload(HourDispute.entry).joinedload(HourEntry.event))
        .order_by(HourDispute.created_at, HourDispute.id)
    )
    if status:
        query = query.where(HourDispute.status == status)
    return query


def disputes_of(user: User) -> list[HourDispute]:
    """A volunteer's own disputes, newest first."""
    return list(
        db.session.scalars(
            select(HourDispute)
            .where(HourDispute.volunteer_id == user.id)
            .options(joinedload(HourDispute.entry).joinedload(HourEntry.event))
            .order_by(HourDispute.created_at.desc(), HourDispute.id.desc())
        )
    )


def disputes_of_line(line_id: int) -> list[HourDispute]:
    """Every dispute about an entry of a line, oldest first."""
    return list(
        db.session.scalars(
            select(HourDispute)
            .join(HourEntry, HourEntry.id == HourDispute.entry_id)
            .where((HourEntry.id == line_id) | (HourEntry.amends_entry_id == line_id))
            .options(joinedload(HourDispute.answered_by))
            .order_by(HourDispute.created_at, HourDispute.id)
        )
    )
