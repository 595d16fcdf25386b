"""Reading the audit trail: what an administrator may see of it, and how each entry reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, distinct, or_, select
from sqlalchemy.orm import joinedload

from app.audit import AuditLog
from app.extensions import db
from app.permissions import subtree_filter
from app.security import mask_id_number
from app.timeutil import LOCAL_TZ
from volunteers.accounts.models import User
from volunteers.accounts.roles import administered_paths, role_label
from volunteers.organizations.models import Organization
from volunteers.organizations.services import kind_label

ACTION_LABELS = {
    "volunteer.register": _l("Registered"),
    "volunteer.update_profile": _l("Edited a profile"),
    "account.change_password": _l("Changed the password"),
    "id_number.reveal": _l("Revealed an ID number"),
    "role.grant": _l("Granted a role"),
    "role.revoke": _l("Revoked a role"),
    "organization.create": _l("Added an organization"),
    "organization.rename": _l("Renamed an organization"),
    "organization.move": _l("Moved an organization"),
    "organization.close": _l("Closed an organization"),
    "organization.import": _l("Imported organizations"),
    "account.disable": _l("Disabled an account"),
    "account.enable": _l("Enabled an account"),
    "account.reset_link": _l("Issued a password reset link"),
    "account.reset_password": _l("Reset a password"),
    "affiliation.request": _l("Asked to change affiliation"),
    "affiliation.cancel": _l("Withdrew a change of affiliation"),
    "affiliation.approve": _l("Approved a change of affiliation"),
    "affiliation.refuse": _l("Refused a change of affiliation"),
    "affiliation.staff_move": _l("Moved a volunteer to another organization"),
    "affiliation.hand_over": _l("Handed a graduate over"),
}

# Defence in depth: whatever an entry holds, a whole resident ID number is never shown on this page.
_ID_LIKE = re.compile(r"\d{17}[\dXx]")


def action_label(action: str) -> str:
    """The readable name of an audit action code (the code itself when unknown)."""
    return str(ACTION_LABELS.get(action, action))


def _scope(admin: User) -> ColumnElement[bool]:
    """SQL condition: entries of organizations inside the administrator's subtrees.

    Entries tied to no organization are shown to administrators of the city committee (the root).
    """
    paths = administered_paths(admin)
    condition = subtree_filter(Organization.path, paths)
    if any(path.count("/") == 2 for path in paths):
        condition = or_(condition, AuditLog.organization_id.is_(None))
    return condition


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def entries_query(
    admin: User,
    *,
    action: str | None = None,
    actor_mobile: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """Audit entries the administrator may read, newest first; dates are local (Asia/Shanghai) and inclusive."""
    query = (
        select(AuditLog)
        .outerjoin(Organization, Organization.id == AuditLog.organization_id)
        .where(_scope(admin))
        .options(joinedload(AuditLog.actor))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )
    if action:
        query = query.where(AuditLog.action == action)
    if actor_mobile:
        query = query.where(AuditLog.actor_id.in_(select(User.id).where(User.mobile == actor_mobile.strip())))
    if date_from:
        query = query.where(AuditLog.at >= _day_start_utc(date_from))
    if date_to:
        query = query.where(AuditLog.at < _day_start_utc(date_to + timedelta(days=1)))
    return query


def action_choices(admin: User) -> list[tuple[str, str]]:
    """(code, label) of the known actions and of every action recorded in the administrator's scope."""
    recorded = db.session.scalars(
        select(distinct(AuditLog.action))
        .outerjoin(Organization, Organization.id == AuditLog.organization_id)
        .where(_scope(admin))
    ).all()
    codes = sorted(set(ACTION_LABELS) | set(recorded))
    return [(code, action_label(code)) for code in codes]


@dataclass
class AuditRow:
    """One entry as the audit page shows it."""

    entry: AuditLog
    action: str
    actor: str
    target: str
    organization: str
    changes: list[str] = field(default_factory=list)


def _clean(value: object) -> str:
    text = "—" if value is None or value == "" else str(value)
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)


def _person(user: User | None) -> str:
    return f"{user.name} ({user.volunteer_number})" if user is not None else "—"


def _describe_target(entry: AuditLog, users: dict[int, User], orgs: dict[int, Organization]) -> str:
    if entry.target_type == "RoleGrant":
        snapshot = entry.after or entry.before or {}
        return _clean(
            f"{snapshot.get('user_name', '')} ({snapshot.get('volunteer_number', '')}): "
            f"{role_label(snapshot.get('role', ''))} @ {snapshot.get('organization', '')}"
        )
    if entry.target_type == "Organization" and entry.target_id in orgs:
        return _clean(orgs[entry.target_id].name)
    if entry.target_type == "User" and entry.target_id in users:
        return _person(users[entry.target_id])
    if entry.target_type:
        return f"{entry.target_type} #{entry.target_id}"
    return "—"


#: how the changed fields read (a field not named here reads as its key)
FIELD_LABELS = {
    "name": _l("Name"),
    "short_name": _l("Short name"),
    "code": _l("Organization code"),
    "kind": _l("Kind"),
    "parent_id": _l("Parent organization"),
    "move_to_id": _l("Records moved to"),
    "moved": _l("Moved"),
    "organization_id": _l("Organization"),
    "political_status": _l("Political status"),
    "activist_since": _l("Activist since"),
    "emergency_contact_name": _l("Emergency contact"),
    "emergency_contact_mobile": _l("Emergency contact's mobile"),
    "skills": _l("Skills"),
    "guardian_name": _l("Guardian"),
}
#: a person's fields where they read otherwise than an organization's
USER_FIELD_LABELS = {"name": _l("Person's name")}
#: bookkeeping the page need not show
_HIDDEN_FIELDS = {"path"}
#: fields holding an organization's id, shown as its name
_ORG_FIELDS = {"parent_id", "move_to_id", "organization_id"}


def _value(key: str, value: object, orgs: dict[int, Organization]) -> str:
    if key in _ORG_FIELDS and isinstance(value, int) and value in orgs:
        return _clean(orgs[value].display_name)
    if key == "kind" and isinstance(value, str):
        return kind_label(value)
    if isinstance(value, dict):
        return _clean("，".join(f"{k} {v}" for k, v in value.items()))
    return _clean(value)


def _org_ids(entry: AuditLog) -> set[int]:
    found = set()
    for snapshot in (entry.before or {}, entry.after or {}):
        for key in _ORG_FIELDS:
            if isinstance(snapshot.get(key), int):
                found.add(snapshot[key])
    if entry.target_type == "Organization" and entry.target_id is not None:
        found.add(entry.target_id)
    return found


def _describe_changes(entry: AuditLog, orgs: dict[int, Organization]) -> list[str]:
    if entry.target_type == "RoleGrant":
        return []  # the target column already reads the grant
    before, after = entry.before or {}, entry.after or {}
    lines = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in _HIDDEN_FIELDS:
            continue
        labels = USER_FIELD_LABELS if entry.target_type == "User" else {}
        label = str(labels.get(key) or FIELD_LABELS.get(key, key))
        if key in before and key in after:
            lines.append(f"{label}: {_value(key, before[key], orgs)} → {_value(key, after[key], orgs)}")
        elif key in after:
            lines.append(f"{label}: {_value(key, after[key], orgs)}")
        else:
            lines.append(f"{label}: {_value(key, before[key], orgs)} → —")
    if entry.note:
        lines.append(_clean(entry.note))
    return lines


def describe(entries: list[AuditLog]) -> list[AuditRow]:
    """Readable rows for a page of entries (targets and organizations loaded in two queries)."""
    user_ids = {e.target_id for e in entries if e.target_type == "User" and e.target_id is not None}
    org_ids = {e.organization_id for e in entries if e.organization_id is not None}
    for entry in entries:
        org_ids |= _org_ids(entry)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    orgs = (
        {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(org_ids)))}
        if org_ids
        else {}
    )
    rows = []
    for entry in entries:
        actor = entry.actor
        rows.append(
            AuditRow(
                entry=entry,
                action=action_label(entry.action),
                actor=f"{actor.name} ({actor.mobile})" if actor is not None else "—",
                target=_describe_target(entry, users, orgs),
                organization=orgs[entry.organization_id].display_name if entry.organization_id in orgs else "—",
                changes=_describe_changes(entry, orgs),
            )
        )
    return rows
