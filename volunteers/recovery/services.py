"""Recovery without SMS: reset links issued by staff, and `reset_password`, the one way a forgotten password is
replaced (a reset link here; the SMS reset calls the same function).

Services flush, never commit; the caller passes the acting user and `now`. A link's secret is shown once to the
person who issued it and never stored (only its SHA-256: the secret has 256 random bits, so a plain hash suffices).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app import audit
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import can_issue_reset_link
from app.security import hash_password, password_problem
from volunteers.accounts.forms import password_message
from volunteers.accounts.models import User
from volunteers.accounts.services import end_all_sessions
from volunteers.recovery.models import PasswordResetLink

#: how long a reset link works
LINK_LIFETIME = timedelta(hours=24)
#: how a password was reset, as the audit trail records it
RESET_WAYS = ("link", "sms")

#: what else a reset revokes, by name: functions (user, now) -> how many credentials they revoked. A higher area
#: registers here (the API's personal tokens: api/area.py), so that this lower one never imports it.
_RESET_HOOKS: dict[str, Callable[[User, datetime], int]] = {}


class LinkGone(DomainError):
    """The link was used, replaced or has expired (410): which of them, and whose it was, is not told."""

    status = 410
    code = "reset_link_gone"


def link_gone() -> LinkGone:
    """The one refusal of a link that no longer works, whatever the reason."""
    return LinkGone(_("This password reset link has expired or was already used. Ask your organization for a new one."))


def on_password_reset(name: str, revoke: Callable[[User, datetime], int]) -> None:
    """Register `revoke(user, now) -> count`, run by every password reset (the last one of a name wins)."""
    _RESET_HOOKS[name] = revoke


def hash_link_secret(secret: str) -> str:
    """The stored form of a link's secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def void_links(user: User, *, now: datetime) -> int:
    """Make every unused link of `user` useless; how many there were."""
    result = db.session.execute(
        update(PasswordResetLink)
        .where(
            PasswordResetLink.user_id == user.id,
            PasswordResetLink.used_at.is_(None),
            PasswordResetLink.voided_at.is_(None),
        )
        .values(voided_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def issue_reset_link(person: User, *, by: User, now: datetime) -> tuple[PasswordResetLink, str]:
    """A new one-time reset link for `person` (valid 24 h; older unused ones stop working) and its secret, to show
    once. Reviewers and administrators over the person (app.permissions.can_issue_reset_link); audited."""
    if person.id == by.id:
        raise Conflict(_("Change your own password on your profile page."), code="own_account")
    if not can_issue_reset_link(by, person):
        raise PermissionDenied(
            _("You may issue reset links only for people of the organizations you review or administer."),
            code="outside_subtree",
        )
    if person.is_disabled:
        raise Conflict(_("This account is disabled; enable it before issuing a reset link."), code="account_disabled")
    if person.password_hash is None:
        raise Conflict(
            _("This account is not activated yet: the volunteer activates it with their mobile and ID number."),
            code="not_activated",
        )
    voided = void_links(person, now=now)
    secret = secrets.token_urlsafe(32)
    link = PasswordResetLink(
        user_id=person.id,
        issued_by_id=by.id,
        token_hash=hash_link_secret(secret),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "account.reset_link",
        actor=by,
        now=now,
        target=person,
        organization_id=person.organization_id,
        after={"link_id": link.id, "expires_at": link.expires_at.isoformat(), "older_links_voided": voided},
    )
    return link, secret


def find_link(secret: str, *, now: datetime) -> PasswordResetLink:
    """The usable link with this secret: NotFound (404) when there is none, LinkGone (410) when it was used,
    replaced or has expired, or its account was disabled since."""
    link = None
    if 20 <= len(secret) <= 100:
        link = db.session.scalar(
            select(PasswordResetLink).where(PasswordResetLink.token_hash == hash_link_secret(secret))
        )
    if link is None:
        raise NotFound(_("This password reset link is not valid. Check that it was copied whole."), code="no_link")
    if not link.usable_at(now) or link.user.is_disabled:
        raise link_gone()
    return link


def reset_with_link(secret: str, new_password: str, *, now: datetime) -> User:
    """Use a reset link once: the account gets `new_password` (see `reset_password`). A link used by a concurrent
    request is refused as gone."""
    link = find_link(secret, now=now)
    claimed = db.session.execute(
        update(PasswordResetLink)
        .where(
            PasswordResetLink.id == link.id,
            PasswordResetLink.used_at.is_(None),
            PasswordResetLink.voided_at.is_(None),
            PasswordResetLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise link_gone()
    db.session.refresh(link)
    return reset_password(link.user, new_password, now=now, via="link")


def check_new_password(user: User, new_password: str) -> None:
    """Refuse a password that breaks the rules of app.security.password_problem (field `new_password`)."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    problem = password_problem(new_password or "", mobile=user.mobile, min_length=min_length)
    if problem:
        raise ValidationFailed(password_message(problem, min_length), field="new_password", code="weak_password")


def reset_password(user: User, new_password: str, *, now: datetime, via: str) -> User:
    """Replace a forgotten password (`via`: "link" or "sms") after the caller proved who is asking.

    Every session of the account ends (the session token rotates), its API tokens are revoked (whoever reset the
    password may be recovering a compromised account) and unused reset links stop working; audited as
    `account.reset_password`. A disabled account is refused (409): a new password would not let it in.
    """
    if via not in RESET_WAYS:
        raise ValueError(f"unknown way of resetting a password: {via!r}")
    if user.is_disabled:
        raise Conflict(_("This account is disabled. Ask your organization's administrator."), code="account_disabled")
    check_new_password(user, new_password)
    user.password_hash = hash_password(new_password)
    user.updated_at = now
    if user.activated_at is None:
        user.activated_at = now  # an imported account reached by SMS has proved its mobile
    if via == "sms":
        user.awaiting_mobile_code = False  # so has a registration whose own code was never entered
    end_all_sessions(user)
    void_links(user, now=now)
    revoked = {name: revoke(user, now) for name, revoke in sorted(_RESET_HOOKS.items())}
    audit.record(
        "account.reset_password",
        actor=user,
        now=now,
        target=user,
        organization_id=user.organization_id,
        after={"via": via, **{f"{name}_revoked": count for name, count in revoked.items()}},
    )
    return user
