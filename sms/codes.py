"""Verification codes by SMS: send one, check one; and plain notices.

The service's whole API:

- `send_code(mobile, purpose, *, ip_address, now) -> CodeSent`: a new six-digit code to a number for a purpose
  (register, reset_password, change_mobile, guardian_confirm). Refuses with `ValidationFailed` (field "mobile":
  not a mainland mobile number), `TooSoon` (a code for this number and purpose less than SMS_RESEND_SECONDS ago;
  `seconds_left`), `DailyLimitReached` (SMS_DAILY_LIMIT_PER_NUMBER codes to this number, or
  SMS_DAILY_LIMIT_PER_ADDRESS from this address, since local midnight), `SmsFailed` (the provider did not send:
  the failed `SmsMessage` is in the session; commit it). A failed send makes no code: it counts for neither the
  wait nor the limits, and an earlier code still counts.
- `withhold_code(mobile, purpose, *, ip_address, now) -> CodeSent`: `send_code`'s locks, wait, limits and answer,
  sending nothing (a number that must not be told apart from a registered one; see its docstring).
- `check_code(mobile, purpose, code, *, now) -> CodeCheck`: ok (the code is used up), wrong (`tries_left`),
  expired, burned (the SMS_CODE_MAX_WRONG_TRIES-th wrong try burns the code) or none (no code, or it was used).
  Only the latest code of a number and purpose counts. A wrong try is counted in the session: commit it.
- `verify_code(...)`: `check_code`, raising `CodeRefused` (field "code") unless ok.
- `send_notice(mobile, purpose, params, *, now) -> SmsMessage`: a plain notice (mobile_changed_notice, to the old
  number), best effort: never raises for the provider; `message.sent` says whether it went out.
- `notify_mobile_changed(old_mobile, new_mobile, *, now) -> SmsMessage`: that notice, the new number masked.
- `prune(*, now) -> dict`: the daily clean-up (job `sms_prune`, sms/tasks.py).

None of them looks at users: the answer for a number is the same whether or not anyone registered with it.
Two requests at once for one number (or one address) take its `SmsSendLock` row in turn, so they cannot both pass
the resend wait and the limits; the lock is held until the caller's commit.
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import ValidationFailed
from app.extensions import db, rowcount
from app.timeutil import local_day_range, local_today
from sms.errors import CodeRefused, DailyLimitReached, SmsFailed, TooSoon
from sms.gateway import deliver, failure_message
from sms.models import SmsMessage, SmsSendLock, VerificationCode
from sms.numbers import address_key, code_hash, mask_mobile, mobile_key, normalize_mobile
from sms.purposes import SmsPurpose


class CodeStatus(str, Enum):
    """What came of checking a code."""

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    BURNED = "burned"
    NONE = "none"


@dataclass(frozen=True)
class CodeSent:
    """A code on its way: to whom (masked), until when it is valid, and when another may be asked for; the message
    sent (None for `withhold_code`, which sends nothing)."""

    mobile_masked: str
    expires_at: datetime
    resend_at: datetime
    message_id: int | None


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of `check_code`; `tries_left` matters for a wrong code."""

    status: CodeStatus
    tries_left: int = 0

    @property
    def ok(self) -> bool:
        return self.status is CodeStatus.OK

    @property
    def message(self) -> str:
        """What the user reads (empty when ok)."""
        if self.status is CodeStatus.WRONG:
            return ngettext(
                "The code is not right. %(num)d try left.",
                "The code is not right. %(num)d tries left.",
                self.tries_left,
            )
        if self.status is CodeStatus.EXPIRED:
            return _("The code has expired. Please ask for a new one.")
        if self.status is CodeStatus.BURNED:
            return _("The code was entered wrongly too many times. Please ask for a new one.")
        if self.status is CodeStatus.NONE:
            return _("No valid code for this number. Please ask for a code first.")
        return ""


def _mobile(mobile: str) -> str:
    normalized = normalize_mobile(mobile)
    if normalized is None:
        raise ValidationFailed(_("Enter an 11-digit mainland mobile number."), field="mobile", code="invalid_mobile")
    return normalized


def _code_purpose(purpose: SmsPurpose | str) -> SmsPurpose:
    chosen = SmsPurpose(purpose)
    if not chosen.is_code:
        raise ValueError(f"{chosen.value} is not a verification code's purpose")
    return chosen


def _lock(key: str, now: datetime) -> None:
    """Take the send lock of `key` until the transaction ends (a row lock; SQLite: the database's write lock)."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(
        insert(SmsSendLock).values(key=key, touched_at=now).on_conflict_do_nothing(index_elements=["key"])
    )
    db.session.execute(
        update(SmsSendLock)
        .where(SmsSendLock.key == key)
        .values(touched_at=now)
        .execution_options(synchronize_session=False)
    )


def _codes_since(start: datetime, *conditions: ColumnElement[bool]) -> int:
    return (
        db.session.scalar(
            select(func.count(VerificationCode.id)).where(VerificationCode.created_at >= start, *conditions)
        )
        or 0
    )


def _latest(key: str, purpose: SmsPurpose) -> VerificationCode | None:
    """The latest code of a number and purpose: the only one that counts."""
    return db.session.scalar(
        select(VerificationCode)
        .where(VerificationCode.mobile_hash == key, VerificationCode.purpose == purpose.value)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)  # the guarded UPDATEs below do not refresh loaded rows
    )


def _check_limits(key: str, purpose: SmsPurpose, ip_address: str | None, now: datetime) -> None:
    config = current_app.config
    latest = _latest(key, purpose)
    if latest is not None:
        wait = timedelta(seconds=int(config["SMS_RESEND_SECONDS"])) - (now - latest.created_at)
        if wait > timedelta(0):
            seconds = math.ceil(wait.total_seconds())
            raise TooSoon(
                _("A code was just sent. You can ask for another in %(seconds)d seconds.", seconds=seconds),
                seconds_left=seconds,
            )
    day_start, _day_end = local_day_range(local_today(now))
    if _codes_since(day_start, VerificationCode.mobile_hash == key) >= int(config["SMS_DAILY_LIMIT_PER_NUMBER"]):
        raise DailyLimitReached(
            _("No more codes can be sent to this number today. Please try again tomorrow."), field="mobile"
        )
    if ip_address and _codes_since(day_start, VerificationCode.ip_address == ip_address) >= int(
        config["SMS_DAILY_LIMIT_PER_ADDRESS"]
    ):
        raise DailyLimitReached(_("Too many codes were asked for from this network today. Please try again tomorrow."))


def _admit(number: str, purpose: SmsPurpose, ip_address: str | None, now: datetime) -> str:
    """Take the send locks of the number and the address, then apply the resend wait and the daily limits; the
    number's keyed hash."""
    key = mobile_key(number)
    _lock(f"mobile:{key}", now)
    if ip_address:
        _lock(f"address:{address_key(ip_address)}", now)
    _check_limits(key, purpose, ip_address, now)
    return key


def _store_code(
    number: str, key: str, purpose: SmsPurpose, code: str, ip_address: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """Record a code (its hash) for the number and purpose; (when it expires, when another may be asked for)."""
    config = current_app.config
    expires_at = now + timedelta(seconds=int(config["SMS_CODE_TTL_SECONDS"]))
    db.session.add(
        VerificationCode(
            mobile_hash=key,
            purpose=purpose.value,
            code_hash=code_hash(number, purpose.value, code),
            created_at=now,
            expires_at=expires_at,
            wrong_tries=0,
            ip_address=ip_address[:45] if ip_address else None,
        )
    )
    db.session.flush()
    return expires_at, now + timedelta(seconds=int(config["SMS_RESEND_SECONDS"]))


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def send_code(mobile: str, purpose: SmsPurpose | str, *, ip_address: str | None, now: datetime) -> CodeSent:
    """Send a new six-digit code to `mobile` for `purpose`, within the resend wait and the daily limits."""
    number = _mobile(mobile)
    chosen = _code_purpose(purpose)
    key = _admit(number, chosen, ip_address, now)
    code = _new_code()
    message = deliver(number, chosen, {"code": code}, now=now)
    if not message.sent:  # no code: the earlier one, if any, still counts, and nothing counts against the limits
        raise SmsFailed(failure_message(message), field="mobile", details={"failure": message.failure})
    expires_at, resend_at = _store_code(number, key, chosen, code, ip_address, now)
    return CodeSent(
        mobile_masked=mask_mobile(number), expires_at=expires_at, resend_at=resend_at, message_id=message.id
    )


def withhold_code(mobile: str, purpose: SmsPurpose | str, *, ip_address: str | None, now: datetime) -> CodeSent:
    """What `send_code` does, but nothing is sent: for a caller that must not tell whether a number is registered
    (the password reset by SMS, for a number no usable account has).

    The same refusals, in the same order (a bad number, the send locks, `TooSoon`, `DailyLimitReached`), and the
    same answer; a code is recorded as if sent (the hash of a random code nobody ever sees) so that it counts for
    the resend wait and both daily limits exactly like a sent one, and checking any code against it answers wrong,
    burned or expired as for a real code. No `SmsMessage` is written (nothing was sent; `message_id` is None).

    Why not simply send: a text to a stranger's phone about an account that does not exist costs a message,
    uses up that person's daily limit at the provider and reads like phishing. Why not skip the limits: a second
    request within SMS_RESEND_SECONDS would then pass for an unknown number and be refused for a known one,
    telling them apart. What remains is timing: a provider's round trip makes a real send slower (the console
    backend answers at once); the per-address limits of the callers bound how many such probes anyone can make.
    """
    number = _mobile(mobile)
    chosen = _code_purpose(purpose)
    key = _admit(number, chosen, ip_address, now)
    expires_at, resend_at = _store_code(number, key, chosen, _new_code(), ip_address, now)
    return CodeSent(mobile_masked=mask_mobile(number), expires_at=expires_at, resend_at=resend_at, message_id=None)


def check_code(mobile: str, purpose: SmsPurpose | str, code: str, *, now: datetime) -> CodeCheck:
    """Check a code given for `mobile` and `purpose`; the right one is used up, a wrong one counts against it."""
    number = normalize_mobile(mobile)
    chosen = _code_purpose(purpose)
    if number is None:
        return CodeCheck(CodeStatus.NONE)
    latest = _latest(mobile_key(number), chosen)
    if latest is None or latest.used_at is not None:
        return CodeCheck(CodeStatus.NONE)
    if latest.burned_at is not None:
        return CodeCheck(CodeStatus.BURNED)
    if latest.expires_at <= now:
        return CodeCheck(CodeStatus.EXPIRED)
    max_wrong = int(current_app.config["SMS_CODE_MAX_WRONG_TRIES"])
    given = "".join((code or "").split())
    live = (VerificationCode.id == latest.id, VerificationCode.used_at.is_(None), VerificationCode.burned_at.is_(None))
    if len(given) != 6 or not given.isdigit():  # a typo, not a guess: no try is spent
        return CodeCheck(CodeStatus.WRONG, tries_left=max_wrong - latest.wrong_tries)
    if hmac.compare_digest(latest.code_hash, code_hash(number, chosen.value, given)):
        used = db.session.execute(
            update(VerificationCode).where(*live).values(used_at=now).execution_options(synchronize_session=False)
        )
        return CodeCheck(CodeStatus.OK if rowcount(used) == 1 else CodeStatus.NONE)
    tries = db.session.scalar(
        update(VerificationCode)
        .where(*live, VerificationCode.wrong_tries < max_wrong)
        .values(wrong_tries=VerificationCode.wrong_tries + 1)
        .returning(VerificationCode.wrong_tries)
        .execution_options(synchronize_session=False)
    )
    if tries is None:  # burned or used meanwhile
        return CodeCheck(CodeStatus.BURNED)
    if tries >= max_wrong:
        db.session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == latest.id)
            .values(burned_at=now)
            .execution_options(synchronize_session=False)
        )
        return CodeCheck(CodeStatus.BURNED)
    return CodeCheck(CodeStatus.WRONG, tries_left=max_wrong - tries)


def verify_code(mobile: str, purpose: SmsPurpose | str, code: str, *, now: datetime) -> None:
    """`check_code`, refusing with `CodeRefused` (field "code"; its code is the CodeStatus) unless the code is right."""
    checked = check_code(mobile, purpose, code, now=now)
    if not checked.ok:
        raise CodeRefused(
            checked.message,
            field="code",
            code=f"code_{checked.status.value}",
            details={"tries_left": checked.tries_left},
        )


def send_notice(mobile: str, purpose: SmsPurpose | str, params: dict[str, str], *, now: datetime) -> SmsMessage:
    """Send a plain notice (no code), e.g. mobile_changed_notice to the old number with {"mobile": "139****0000"};
    best effort: the record says whether it was sent, a provider's failure is not raised."""
    chosen = SmsPurpose(purpose)
    if chosen.is_code:
        raise ValueError(f"{chosen.value} is a verification code's purpose: use send_code")
    return deliver(_mobile(mobile), chosen, params, now=now)


def prune(*, now: datetime) -> dict[str, int]:
    """Delete what is no longer needed: codes and send locks older than two days (the daily limits look at one
    local day), and message records older than SMS_MESSAGE_KEEP_DAYS. The counts deleted, by table."""
    config = current_app.config
    codes_before = now - timedelta(days=2)
    messages_before = now - timedelta(days=int(config["SMS_MESSAGE_KEEP_DAYS"]))
    counts = {
        "codes": db.session.execute(delete(VerificationCode).where(VerificationCode.created_at < codes_before)),
        "locks": db.session.execute(delete(SmsSendLock).where(SmsSendLock.touched_at < codes_before)),
        "messages": db.session.execute(delete(SmsMessage).where(SmsMessage.created_at < messages_before)),
    }
    return {name: rowcount(result) for name, result in counts.items()}


def notify_mobile_changed(old_mobile: str, new_mobile: str, *, now: datetime) -> SmsMessage:
    """Tell the old number that the account's mobile is now `new_mobile` (shown masked); best effort, as send_notice."""
    return send_notice(
        old_mobile, SmsPurpose.MOBILE_CHANGED_NOTICE, {"mobile": mask_mobile(_mobile(new_mobile))}, now=now
    )
