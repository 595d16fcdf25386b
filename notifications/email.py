"""Email copies of notifications: sent through SMTP when MAIL_SERVER is configured, logged otherwise.

The outbox pass (events/tasks.py, every minute) claims notifications that were not emailed
yet with a guarded UPDATE of `emailed_at`, commits the claim, then sends: a notification is
emailed at most once even when two passes overlap. A failed send releases the claim so the
next pass tries again. Only unread notifications of the last two days, of users who gave an
email address, are sent: one already read in the app needs no email.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.extensions import db
from notifications.models import Notification
from notifications.services import render
from volunteers.accounts.models import User

log = logging.getLogger(__name__)

OUTBOX_MAX_AGE = timedelta(hours=48)
OUTBOX_BATCH = 200


@dataclass
class OutgoingEmail:
    """One rendered email for one notification."""

    notification_id: int
    to: str
    subject: str
    body: str


def mail_configured() -> bool:
    """True when an SMTP server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def absolute_link(link: str) -> str:
    """A site path as a full URL (needs PUBLIC_BASE_URL); empty when it cannot be made absolute."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{link}" if base and link.startswith("/") and not link.startswith("//") else ""


def compose(notification: Notification, user: User) -> OutgoingEmail:
    """Render a notification as an email in the recipient's language."""
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        title, body = render(notification)
        lines = [body]
        link = absolute_link(notification.link)
        if link:
            lines += ["", link]
        lines += [
            "",
            "— " + _("Dongguan Youth Volunteers"),
            _("You receive this email because you gave your address in your volunteer profile."),
        ]
    return OutgoingEmail(notification.id, user.email or "", title, "\n".join(lines))


def claim_outbox(*, now: datetime, limit: int = OUTBOX_BATCH) -> list[OutgoingEmail]:
    """Claim up to `limit` notifications to email (sets emailed_at); the caller commits, then sends."""
    candidates = list(
        db.session.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.emailed_at.is_(None),
                Notification.read_at.is_(None),
                Notification.created_at >= now - OUTBOX_MAX_AGE,
                User.email.is_not(None),
                User.email != "",
                User.is_disabled.is_(False),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    if not candidates:
        return []
    claimed = list(
        db.session.scalars(
            update(Notification)
            .where(Notification.id.in_(candidates), Notification.emailed_at.is_(None))
            .values(emailed_at=now)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return []
    rows = db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(claimed))
        .order_by(Notification.id)
    ).all()
    return [compose(notification, user) for notification, user in rows]


def release(notification_ids: list[int]) -> None:
    """Undo the claim of emails that could not be sent, so the next pass retries them."""
    if notification_ids:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(notification_ids))
            .values(emailed_at=None)
            .execution_options(synchronize_session=False)
        )


def send_emails(messages: list[OutgoingEmail], *, now: datetime) -> list[int]:
    """Send (or, without SMTP, log) the emails; returns the notification ids that failed."""
    if not messages:
        return []
    config = current_app.config
    if not mail_configured():
        for message in messages:
            log.info(
                "email not sent (SMTP not configured): to=%s subject=%s\n%s", message.to, message.subject, message.body
            )
        return []
    failed: list[int] = []
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException):
        log.exception("cannot reach the SMTP server %s:%s", config["MAIL_SERVER"], config["MAIL_PORT"])
        return [message.notification_id for message in messages]
    try:
        for message in messages:
            try:
                smtp.send_message(_email_message(message, config, now))
            except smtplib.SMTPRecipientsRefused:
                log.warning("email to %s refused; not retried", message.to)
            except (OSError, smtplib.SMTPException):
                log.exception("sending email for notification %s failed", message.notification_id)
                failed.append(message.notification_id)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    return failed


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    timeout = config["MAIL_TIMEOUT_SECONDS"]
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
    if config["MAIL_USERNAME"]:
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def _email_message(message: OutgoingEmail, config: Mapping[str, Any], now: datetime) -> EmailMessage:
    email = EmailMessage()
    sender = config["MAIL_DEFAULT_SENDER"]
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.to
    email["Date"] = format_datetime(now)
    email["Message-ID"] = make_msgid(
        idstring=f"notification.{message.notification_id}", domain=sender.rpartition("@")[2] or None
    )
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    return email
