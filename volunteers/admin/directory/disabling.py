"""Disabling and re-enabling an account. Services flush, never commit; the caller passes the actor and `now`.

A disabled person's records all stay (hours, assignments, audit trail, API tokens); what stops is access:
the session token rotates, so every session ends on its next request; the API refuses their tokens on the next
call (api/tokens.py reads users.is_disabled in the token's query); login is refused; unused reset links are voided.
Re-enabling lets the person log in again with their password, and their unrevoked API tokens work again.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_disable_account
from volunteers.accounts.models import User
from volunteers.accounts.services import end_all_sessions
from volunteers.recovery.services import void_links

REASON_MAX = 200


def _checked(person: User, reason: str, *, by: User) -> str:
    """The reason, once the actor may change this account at all."""
    if person.id == by.id:
        raise Conflict(_("You cannot disable or enable your own account."), code="own_account", field="reason")
    if not can_disable_account(by, person):
        raise PermissionDenied(
            _("Only an administrator over this person's organization and roles may do this."), code="outside_subtree"
        )
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(_("Give the reason; it is kept in the audit trail."), field="reason", code="no_reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            _("The reason may be at most %(n)s characters.", n=REASON_MAX), field="reason", code="reason_too_long"
        )
    return reason


def disable_account(person: User, reason: str, *, by: User, now: datetime) -> User:
    """Disable an account: its sessions, API tokens and reset links stop working; nothing is deleted; audited."""
    reason = _checked(person, reason, by=by)
    if person.is_disabled:
        raise Conflict(_("This account is already disabled."), code="already_disabled", field="reason")
    person.is_disabled = True
    person.updated_at = now
    end_all_sessions(person)
    void_links(person, now=now)
    audit.record(
        "account.disable",
        actor=by,
        now=now,
        target=person,
        organization_id=person.organization_id,
        before={"is_disabled": False},
        after={"is_disabled": True},
        note=reason,
    )
    return person


def enable_account(person: User, reason: str, *, by: User, now: datetime) -> User:
    """Re-enable a disabled account: the person logs in again with their password; audited."""
    reason = _checked(person, reason, by=by)
    if not person.is_disabled:
        raise Conflict(_("This account is not disabled."), code="not_disabled", field="reason")
    person.is_disabled = False
    person.updated_at = now
    db.session.flush()
    audit.record(
        "account.enable",
        actor=by,
        now=now,
        target=person,
        organization_id=person.organization_id,
        before={"is_disabled": True},
        after={"is_disabled": False},
        note=reason,
    )
    return person


def status_history(person: User, limit: int = 10) -> list[AuditLog]:
    """The latest disable and enable entries of an account, newest first."""
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(
                AuditLog.target_type == "User",
                AuditLog.target_id == person.id,
                AuditLog.action.in_(("account.disable", "account.enable")),
            )
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )
