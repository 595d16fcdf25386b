"""Loading the logged-in user for Flask-Login: the session carries the user's id and session token."""

from __future__ import annotations

from app.extensions import db, login_manager
from volunteers.accounts.models import User


def load_user(session_id: str) -> User | None:
    """The user of a session id "<id>:<token>", or None when the token was rotated or the account is inactive."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != token or not user.is_active:
        return None
    return user


def install() -> None:
    """Register `load_user` with the shared login manager (idempotent)."""
    login_manager.user_loader(load_user)
