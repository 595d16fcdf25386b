"""Helpers of the tests of the password reset by SMS and of the change of mobile number: what a phone received
(the console backend keeps each message's text) and a page's text without its CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from sms.models import SmsMessage, VerificationCode
from sms.numbers import mobile_key

_CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")|(<meta name="csrf-token" content=")[^"]*(")')


def messages_to(mobile: str, purpose: str | None = None) -> list[SmsMessage]:
    """Every message recorded for a number (oldest first), of one purpose if given."""
    db.session.expire_all()
    query = select(SmsMessage).where(SmsMessage.mobile_hash == mobile_key(mobile)).order_by(SmsMessage.id)
    if purpose is not None:
        query = query.where(SmsMessage.purpose == purpose)
    return list(db.session.scalars(query))


def code_sent_to(mobile: str, purpose: str) -> str:
    """The code in the latest message of `purpose` to `mobile`, as the phone shows it."""
    sent = [message for message in messages_to(mobile, purpose) if message.status == "sent"]
    assert sent, f"no {purpose} message was sent to {mobile}"
    assert sent[-1].text, "the console backend keeps the text"
    [code] = re.findall(r"(?<!\d)\d{6}(?!\d)", sent[-1].text)
    return code


def codes_of(mobile: str, purpose: str) -> list[VerificationCode]:
    """The codes recorded for a number and purpose, oldest first."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(VerificationCode)
            .where(VerificationCode.mobile_hash == mobile_key(mobile), VerificationCode.purpose == purpose)
            .order_by(VerificationCode.id)
        )
    )


def wrong_code(right: str) -> str:
    """A six-digit code that is not `right`."""
    return "000000" if right != "000000" else "111111"


def without_csrf(html: str) -> str:
    """The page with its CSRF tokens blanked (they differ between sessions)."""
    return _CSRF.sub(lambda m: (m.group(1) or m.group(3)) + (m.group(2) or m.group(4)), html)
