"""Changing the mobile number (the login): a code to the new number proves it, a notice goes to the old one.

Step 1, `request_mobile_change`: the current password, then a number no other account has and not the account's
own; a code (purpose change_mobile) goes to the NEW number. Step 2, `confirm_mobile_change`: the code proves the new
number; the mobile changes (the database's unique constraint refuses a number another account took meanwhile), the
old number is told (`sms.codes.notify_mobile_changed`), every session ends (the caller logs this one in again with
the new token, as after a password change), audited as `account.change_mobile` with both numbers masked.

Services flush, never commit; a wrong try (`CodeRefused`) and a failed send (`SmsFailed`) carry work the view must
commit (`commit_refusals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.security import verify_password
from sms.codes import CodeSent, notify_mobile_changed, send_code, verify_code
from sms.numbers import mask_mobile, normalize_mobile
from sms.purposes import SmsPurpose
from volunteers.accounts.models import User
from volunteers.accounts.services import end_all_sessions, find_by_mobile


@dataclass(frozen=True)
class PendingChange:
    """A code is on its way to `mobile` (normalized), the number `user_id` asked to change to."""

    user_id: int
    mobile: str
    sent: CodeSent


def _new_number(mobile: str) -> str:
    number = normalize_mobile(mobile or "")
    if number is None:
        raise ValidationFailed(_("Enter an 11-digit mainland mobile number."), field="mobile", code="invalid_mobile")
    return number


def _taken(field: str | None) -> ValidationFailed:
    return ValidationFailed(
        _("Another account already has this mobile number. Choose another number."), field=field, code="mobile_taken"
    )


def request_mobile_change(
    user: User, new_mobile: str, current_password: str, *, ip_address: str | None, now: datetime
) -> PendingChange:
    """Check the current password and the new number, then send a change_mobile code to the new number.

    Refusals: the current password is wrong (field "current_password"; checked first, so that nobody without it
    learns which numbers are taken), a bad number, the account's own number or one another account has (field
    "mobile"), and those of `send_code` (`TooSoon`, `DailyLimitReached`, `SmsFailed`)."""
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationFailed(_("The current password is wrong."), field="current_password", code="wrong_password")
    number = _new_number(new_mobile)
    if number == user.mobile:
        raise ValidationFailed(
            _("This is already your mobile number. Enter the new one."), field="mobile", code="same_mobile"
        )
    if find_by_mobile(number) is not None:
        raise _taken("mobile")
    sent = send_code(number, SmsPurpose.CHANGE_MOBILE, ip_address=ip_address, now=now)
    return PendingChange(user_id=user.id, mobile=number, sent=sent)


def confirm_mobile_change(user: User, new_mobile: str, code: str, *, now: datetime) -> User:
    """Prove `new_mobile` with its code and make it the account's mobile; tell the old number; end every session.

    Refusals: `CodeRefused` (field "code": wrong, expired, burned, none), the account's own number, and a number
    another account took since the code was sent (the unique constraint decides, so two accounts racing for one
    number cannot both get it)."""
    number = _new_number(new_mobile)
    verify_code(number, SmsPurpose.CHANGE_MOBILE, code, now=now)
    old = user.mobile
    if number == old:
        raise ValidationFailed(_("This is already your mobile number. Enter the new one."), code="same_mobile")
    try:
        with db.session.begin_nested():
            user.mobile = number
            user.updated_at = now
            db.session.flush()
    except IntegrityError as exc:
        raise _taken(None) from exc  # step 2 has no number field: shown at the top of its form
    end_all_sessions(user)
    notice = notify_mobile_changed(old, number, now=now)
    audit.record(
        "account.change_mobile",
        actor=user,
        now=now,
        target=user,
        organization_id=user.organization_id,
        before={"mobile": mask_mobile(old)},
        after={"mobile": mask_mobile(number), "old_number_told": notice.sent},
    )
    return user
