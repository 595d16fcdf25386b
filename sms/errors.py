"""The SMS area's refusals: each a domain error of app/errors.py, with a message a user can read.

- `SmsFailed` (503 in the API, 422 beside the mobile field on a form): the provider did not send; the failed send is
  recorded (`SmsMessage`, status failed) in the session: a view commits it (`commit_refusals=(SmsFailed,)`) so that
  the record survives the refusal.
- `TooSoon` (429 in the API, 422 on a form): a code for this number and purpose was sent less than SMS_RESEND_SECONDS ago;
  `details["seconds_left"]`.
- `DailyLimitReached` (429 in the API, 422 on a form): the day's codes for this number, or from this address, are used up.
- `CodeRefused` (422 on a form, 400 in the API): the code given is wrong, expired, burned or missing;
  `code` is the `CodeStatus`, `details["tries_left"]`. A wrong try is counted in the session: a view must commit
  it (`commit_refusals=(CodeRefused,)`), or a guesser would get unlimited tries.
"""

from __future__ import annotations

from app.errors import ValidationFailed


class SmsFailed(ValidationFailed):
    """The provider did not send the message (throttled, unreachable, refused the number, or another error)."""

    status = 503
    code = "sms_failed"


class TooSoon(ValidationFailed):
    """A code was sent to this number for this purpose moments ago."""

    status = 429
    code = "sms_too_soon"

    def __init__(self, message: str, *, seconds_left: int, field: str | None = "mobile"):
        super().__init__(message, field=field, details={"seconds_left": seconds_left})
        self.seconds_left = seconds_left


class DailyLimitReached(ValidationFailed):
    """No more codes today for this number or from this address."""

    status = 429
    code = "sms_daily_limit"


class CodeRefused(ValidationFailed):
    """The verification code given does not prove the number."""

    code = "sms_code_refused"
