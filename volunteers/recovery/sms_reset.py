"""Password reset by SMS: a code to the account's mobile (`request_reset_code`), then the code with a new password
(`reset_with_code`, which ends in `volunteers.recovery.services.reset_password`, via "sms").

Nothing either step answers tells whether a number belongs to an account. For a number no usable account has
(none, or a disabled one) step 1 calls `sms.codes.withhold_code`: the same locks, resend wait and daily limits as a
real send, the same answer, and a code recorded that nobody ever receives; so step 2 answers such a number exactly as
a known one given a wrong code (wrong with the tries left, burned, expired), or, with no code asked for, "no valid
code". An imported account not yet activated gets its code like any other: the reset activates it.

Services flush, never commit. A wrong try (`CodeRefused`) and a failed send (`SmsFailed`) carry work the view must
commit (`commit_refusals`).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from app.errors import ValidationFailed
from sms.codes import CodeCheck, CodeSent, CodeStatus, send_code, verify_code, withhold_code
from sms.errors import CodeRefused
from sms.numbers import normalize_mobile
from sms.purposes import SmsPurpose
from volunteers.accounts.models import User
from volunteers.accounts.services import find_by_mobile
from volunteers.recovery.services import reset_password


def _account_of(number: str | None) -> User | None:
    return find_by_mobile(number) if number else None


def request_reset_code(mobile: str, *, ip_address: str | None, now: datetime) -> CodeSent:
    """Send a password reset code to `mobile` when an account that is not disabled has it; otherwise send nothing,
    but answer, wait and count exactly the same (`withhold_code`). Refusals: a bad number (field "mobile"),
    `TooSoon`, `DailyLimitReached`, and `SmsFailed` (only for a real send: the provider did not take it)."""
    number = normalize_mobile(mobile or "")
    account = _account_of(number)
    if number is not None and account is not None and not account.is_disabled:
        return send_code(number, SmsPurpose.RESET_PASSWORD, ip_address=ip_address, now=now)
    return withhold_code(mobile or "", SmsPurpose.RESET_PASSWORD, ip_address=ip_address, now=now)


def reset_with_code(mobile: str, code: str, new_password: str, *, now: datetime) -> User:
    """Prove the number with its reset code, then give its account `new_password` (every session ends, API tokens
    are revoked, audited: `reset_password`). A wrong, expired, burned or missing code is `CodeRefused` (field
    "code"; its wrong try must be committed); an unknown number is answered the same way. A disabled account is
    refused (409) by `reset_password`."""
    number = normalize_mobile(mobile or "")
    if number is None:
        raise ValidationFailed(_("Enter an 11-digit mainland mobile number."), field="mobile", code="invalid_mobile")
    verify_code(number, SmsPurpose.RESET_PASSWORD, code, now=now)
    account = _account_of(number)
    if account is None:
        # Only a withheld code of a number nobody has can get here, guessed (one chance in a million a try): it is
        # used up now, so answer as for a used code.
        none = CodeCheck(CodeStatus.NONE)
        raise CodeRefused(none.message, field="code", code="code_none", details={"tries_left": 0})
    return reset_password(account, new_password, now=now, via="sms")
