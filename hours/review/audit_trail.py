"""The hours audit trail as reviewers read it: every state change of entries in their subtrees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from app import permissions
from app.audit import AuditLog
from app.extensions import db
from app.timeutil import LOCAL_TZ
from hours.ledger.models import HourEntry
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

ACTION_LABELS = {
    "hours.record": _l("Recorded from attendance"),
    "hours.reconcile": _l("Changed attendance re-recorded"),
    "hours.withdraw": _l("Withdrawn (attendance changed)"),
    "hours.submit": _l("Submitted"),
    "hours.verify": _l("Verified"),
    "hours.reject": _l("Rejected"),
    "hours.correct": _l("Corrected"),
    "hours.reverse": _l("Reversed"),
    "hours.backfill": _l("Back-filled"),
    "hours.evidence": _l("Evidence uploaded"),
    "hours.dispute": _l("Disputed"),
    "hours.dispute_answer": _l("Dispute answered"),
    "hours.rounding": _l("Rounding rule set"),
}


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def entries_query(
    user: User,
    *,
    action: str | None = None,
    actor_mobile: str | None = None,
    entry_id: int | None = None,
    event_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """Hours audit entries of organizations inside the user's reviewer subtrees, newest first."""
    paths = permissions.role_paths(user, permissions.REVIEWER_ROLES)
    query = (
        select(AuditLog)
        .join(Organization, Organization.id == AuditLog.organization_id)
        .where(AuditLog.action.startswith("hours."), permissions.subtree_filter(Organization.path, paths))
        .options(joinedload(AuditLog.actor))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )
    if action:
        query = query.where(AuditLog.action == action)
    if actor_mobile:
        query = query.where(AuditLog.actor_id.in_(select(User.id).where(User.mobile == actor_mobile.strip())))
    if entry_id:
        query = query.where(AuditLog.target_type == "HourEntry", AuditLog.target_id == entry_id)
    if event_id:
        query = query.where(
            AuditLog.target_type == "HourEntry",
            AuditLog.target_id.in_(select(HourEntry.id).where(HourEntry.event_id == event_id)),
        )
    if date_from:
        query = query.where(AuditLog.at >= _day_start_utc(date_from))
    if date_to:
        query = query.where(AuditLog.at < _day_start_utc(date_to + timedelta(days=1)))
    return query


def action_choices() -> list[tuple[str, str]]:
    return [SelectChoice(code, str(label)) for code, label in ACTION_LABELS.items()]


@dataclass
class AuditRow:
    """One audit entry as the hours audit page shows it."""

    entry: AuditLog
    action: str
    actor: str
    entry_id: int | None
    volunteer: str
    changes: list[str] = field(default_factory=list)


def _changes(log: AuditLog) -> list[str]:
    before, after = log.before or {}, log.after or {}
    lines = []
    for key in dict.fromkeys([*before, *after]):
        if key in ("volunteer_id", "event_id", "line"):
            continue
        old, new = before.get(key), after.get(key)
        if key in before and old != new:
            lines.append(f"{key}: {old if old is not None else '—'} → {new if new is not None else '—'}")
        elif key not in before:
            lines.append(f"{key}: {new if new is not None else '—'}")
    if log.note:
        lines.append(log.note)
    return lines


def describe(logs: list[AuditLog]) -> list[AuditRow]:
    """Readable rows for a page of audit entries (volunteers loaded in one query)."""
    volunteer_ids = {(log.after or log.before or {}).get("volunteer_id") for log in logs} - {None}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(volunteer_ids)))} if volunteer_ids else {}
    )
    rows = []
    for log in logs:
        snapshot = log.after or log.before or {}
        volunteer_id = snapshot.get("volunteer_id")
        volunteer = users.get(volunteer_id) if volunteer_id is not None else None
        rows.append(
            AuditRow(
                entry=log,
                action=str(ACTION_LABELS.get(log.action, log.action)),
                actor=f"{log.actor.name} ({log.actor.volunteer_number})"
                if log.actor is not None
                else str(_l("System")),
                entry_id=log.target_id if log.target_type == "HourEntry" else snapshot.get("entry"),
                volunteer=f"{volunteer.name} ({volunteer.volunteer_number})" if volunteer is not None else "—",
                changes=_changes(log),
            )
        )
    return rows
