"""API token operations. They flush, never commit; the caller passes `now` and the actor."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, String, bindparam, select, update
from sqlalchemy.orm import contains_eager

from api.models import ApiToken
from app import audit
from app.errors import Conflict, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import remember_grants
from volunteers.accounts.models import User
from volunteers.accounts.roles import grants_column

TOKEN_PREFIX = "dgv_"
#: last_used_at is refreshed at most this often, so reads do not write on every request
TOUCH_INTERVAL = timedelta(minutes=5)


def hash_token(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str, *, by: User | None, now: datetime) -> tuple[ApiToken, str]:
    """Issue a new token for `user`; returns the row and the secret, which is shown only this once."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationFailed(
            _("Give the token a name of at most 60 characters."), field="name", code="invalid_token_name"
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:12],
        created_by_id=by.id if by is not None else None,
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.create",
        actor=by,
        now=now,
        target=token,
        organization_id=user.organization_id,
        after={"user_id": user.id, "name": name, "prefix": token.prefix},
    )
    return token, secret


def revoke_token(token: ApiToken, *, by: User | None, now: datetime) -> ApiToken:
    """Revoke a token; requests carrying it are refused from now on."""
    if token.revoked_at is not None:
        raise Conflict(_("This token is already revoked."), code="token_already_revoked")
    token.revoked_at = now
    db.session.flush()
    audit.record(
        "api_token.revoke",
        actor=by,
        now=now,
        target=token,
        organization_id=token.user.organization_id,
        before={"prefix": token.prefix},
    )
    return token


@cache
def _token_query() -> Select[Any]:
    """The unrevoked token of an account not disabled, its user and their grants by the token's hash: built once
    (every API request runs it)."""
    return (
        select(ApiToken, grants_column(ApiToken.user_id))
        .join(ApiToken.user)
        .options(contains_eager(ApiToken.user))
        .where(
            ApiToken.token_hash == bindparam("token_hash", type_=String),
            ApiToken.revoked_at.is_(None),
            User.is_disabled.is_(False),  # a disabled account's tokens stop on their next call
        )
    )


def find_active_token(secret: str) -> ApiToken | None:
    """The unrevoked token with this secret whose user may still log in, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = db.session.execute(_token_query(), {"token_hash": hash_token(secret)}).first()
    if row is None:
        return None
    token, grants = row
    if token.revoked_at is not None or not token.user.is_active:
        return None
    remember_grants(token.user_id, grants)  # one query for the token, its user and their roles
    return token


def revoke_tokens_of(user: User, now: datetime) -> int:
    """Revoke every token of `user` (a password reset: volunteers.recovery.services.on_password_reset); how many."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def touch_token(token: ApiToken, *, now: datetime) -> bool:
    """Record that the token was used (at most every few minutes); True when the row changed."""
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
        return False
    token.last_used_at = now
    db.session.flush()
    return True


def tokens_of(user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))
