"""Rotating check-in tokens: the kiosk's QR (names an event, maybe a shift) and a volunteer's badge QR.

A token is compact and URL-safe: `K.<event>.<shift>.<window>.<signature>` or
`B.<user>.<window>.<signature>`, numbers in base 36, the signature the first 16 bytes of
HMAC-SHA256 over everything before it, base64url without padding. The key is derived from
the app's SECRET_KEY with a label, so it signs nothing else. Time is cut into windows of
CHECKIN_TOKEN_WINDOW_SECONDS (30 s); a token is accepted in its own window and the next one
only, so a screenshot is useless a minute later. Tokens are deterministic per (subject, window):
a badge's `digest` identifies one presentation window, which the scan log uses to refuse replays.
Parsing refuses, in this order: token_too_long (over 512 bytes, before any parsing),
token_malformed, token_forged, token_wrong_kind, token_expired.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app

from checkin.refusals import ScanRefused

MAX_TOKEN_BYTES = 512
KEY_LABEL = b"dongguan-volunteers/checkin-token/v1"
KIOSK = "K"
BADGE = "B"

_NUMBER = r"(0|[1-9a-z][0-9a-z]{0,12})"
_SIGNATURE = r"([A-Za-z0-9_-]{22})"
_KIOSK_RE = re.compile(rf"K\.{_NUMBER}\.(|[1-9a-z][0-9a-z]{{0,12}})\.{_NUMBER}\.{_SIGNATURE}")
_BADGE_RE = re.compile(rf"B\.{_NUMBER}\.{_NUMBER}\.{_SIGNATURE}")


class KioskClaim(NamedTuple):
    """What a valid kiosk token says: the event (and shift, for a shift's kiosk) and its time window."""

    event_id: int
    shift_id: int | None
    window: int


class BadgeClaim(NamedTuple):
    """What a valid badge token says: whose badge, its window, and a digest that identifies the token."""

    user_id: int
    window: int
    digest: str


def _refused(code: str) -> ScanRefused:
    return ScanRefused(code)


def window_seconds() -> int:
    """Length of one token window in seconds (config CHECKIN_TOKEN_WINDOW_SECONDS)."""
    return int(current_app.config.get("CHECKIN_TOKEN_WINDOW_SECONDS", 30))


def window_of(now: datetime) -> int:
    """The number of the window containing `now`."""
    return int(now.timestamp()) // window_seconds()


def next_rotation(now: datetime) -> datetime:
    """When the token shown at `now` is replaced by the next one (pages refresh their QR then)."""
    seconds = window_seconds()
    return datetime.fromtimestamp((window_of(now) + 1) * seconds, UTC)


def valid_until(now: datetime) -> datetime:
    """The last moment a token made at `now` is still accepted (end of the following window)."""
    return next_rotation(now) + timedelta(seconds=window_seconds())


def _key() -> bytes:
    return _derived_key(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _derived_key(secret: str | bytes) -> bytes:
    """The token key derived from the app's secret (computed once per secret)."""
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()


def _b36(number: int) -> str:
    if number < 0:
        raise ValueError("negative number in a token")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _sign(body: str) -> str:
    mac = hmac.new(_key(), body.encode("ascii"), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def kiosk_token(event_id: int, *, shift_id: int | None, now: datetime) -> str:
    """The kiosk token for an event (or one of its shifts) in the window of `now`."""
    body = f"{KIOSK}.{_b36(event_id)}.{_b36(shift_id) if shift_id else ''}.{_b36(window_of(now))}"
    return f"{body}.{_sign(body)}"


def badge_token(user_id: int, *, now: datetime) -> str:
    """The volunteer's badge token in the window of `now`."""
    body = f"{BADGE}.{_b36(user_id)}.{_b36(window_of(now))}"
    return f"{body}.{_sign(body)}"


def _verify(token: object, now: datetime, kind: str) -> tuple[list[str], int]:
    """Check size, shape, signature, kind and window; return the token's numeric fields and its window."""
    if not isinstance(token, str):
        raise _refused("token_malformed")
    if len(token) > MAX_TOKEN_BYTES or len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise _refused("token_too_long")
    token = token.strip()
    match = _KIOSK_RE.fullmatch(token) or _BADGE_RE.fullmatch(token)
    if match is None:
        raise _refused("token_malformed")
    body, _, signature = token.rpartition(".")
    if not hmac.compare_digest(_sign(body), signature):
        raise _refused("token_forged")
    if token[0] != kind:
        raise _refused("token_wrong_kind")
    fields = list(match.groups()[:-1])
    window = int(fields[-1], 36)
    current = window_of(now)
    if window not in (current, current - 1):
        raise _refused("token_expired")
    return fields, window


def parse_kiosk_token(token: str, *, now: datetime) -> KioskClaim:
    """The claim of a kiosk token valid at `now`; raises ScanRefused(token_*) otherwise."""
    fields, window = _verify(token, now, KIOSK)
    return KioskClaim(int(fields[0], 36), int(fields[1], 36) if fields[1] else None, window)


def parse_badge_token(token: str, *, now: datetime) -> BadgeClaim:
    """The claim of a badge token valid at `now`; raises ScanRefused(token_*) otherwise."""
    fields, window = _verify(token, now, BADGE)
    return BadgeClaim(int(fields[0], 36), window, token.strip().rpartition(".")[2])


def badge_owner(token: object) -> int | None:
    """The user id a badge token names, without checking it (to order locks); None if unreadable."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        return None
    match = _BADGE_RE.fullmatch(token.strip())
    return int(match.group(1), 36) if match else None
