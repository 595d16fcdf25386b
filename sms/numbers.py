"""Mainland mobile numbers: the one accepted spelling, the masked form records keep, and the keyed hash codes use."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-()（）]")
#: what a Chinese input method may type instead: full-width digits and plus sign
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")


def normalize_mobile(value: str) -> str | None:
    """The 11-digit mainland number in `value` ("+86 138-0013-8000", full-width "１３８…" → "13800138000"), or None
    when it is none."""
    digits = _SEPARATORS.sub("", (value or "").translate(_FULL_WIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def mask_mobile(mobile: str) -> str:
    """A number as records and logs keep it: 138****5678."""
    if len(mobile) < 8:
        return "*" * len(mobile)
    return f"{mobile[:3]}****{mobile[-4:]}"


def _keyed(purpose: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def mobile_key(mobile: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a normalized number: codes are found by it, never by the number."""
    return _keyed("sms-mobile", mobile)


def address_key(address: str) -> str:
    """A keyed hash of a client address, for the per-address lock (the address itself is kept on the code)."""
    return _keyed("sms-address", address)


def code_hash(mobile: str, purpose: str, code: str) -> str:
    """The stored form of a code: HMAC-SHA256 with SECRET_KEY over the number, the purpose and the code."""
    return _keyed("sms-code", f"{purpose}:{mobile}:{code}")
