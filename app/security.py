"""Resident ID numbers (validation, encryption, keyed lookup hash) and password hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# GB 11643-1999: weights of the first 17 digits and the check characters by remainder.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"\A[0-9]{17}[0-9X]\Z")  # ASCII only: \d also matches full-width digits
MOBILE_PATTERN = re.compile(r"\A1[3-9][0-9]{9}\Z")  # \Z: "$" would accept a trailing newline


class IdNumberError(ValueError):
    """An ID number that is not a valid mainland resident ID."""


@dataclass(frozen=True)
class IdNumber:
    """A validated resident ID number and what it tells."""

    value: str
    birth_date: date
    sex: str  # "M" or "F"

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=False))
    return _CHECK_CHARS[total % 11]


def demo_id_number(birth: date, sequence: int, region: str = "441900") -> IdNumber:
    """A valid (check digit and all) ID number for demo and test people."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    value = first17 + check_digit(first17)
    return IdNumber(value=value, birth_date=birth, sex="M" if int(value[16]) % 2 else "F")


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate an 18-character ID number; raise IdNumberError with a readable reason."""
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise IdNumberError("ID number must be 18 characters")
    if not _ID_PATTERN.match(value):
        raise IdNumberError("ID number must be 17 digits followed by a digit or X")
    if check_digit(value[:17]) != value[17]:
        raise IdNumberError("ID number check digit is wrong")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise IdNumberError("ID number contains an impossible birth date") from exc
    if birth.year < 1900 or birth > (today or date.today()):
        raise IdNumberError("ID number contains an impossible birth date")
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(value=value, birth_date=birth, sex=sex)


def mask_id_number(value: str) -> str:
    """4419**********123X: region prefix and the last four characters only."""
    return f"{value[:4]}{'*' * 10}{value[-4:]}" if len(value) == 18 else "*" * 18


def _keys() -> tuple[bytes, bytes]:
    cache = current_app.extensions.setdefault("id_number_keys", {})
    raw = current_app.config["ID_NUMBER_KEY"]
    if raw not in cache:
        master = base64.b64decode(raw)
        if len(master) < 32:
            raise RuntimeError("ID_NUMBER_KEY must be base64 of at least 32 bytes")
        derived = HKDF(algorithm=SHA256(), length=64, salt=None, info=b"id-number-v1").derive(master)
        cache[raw] = (derived[:32], derived[32:])
    return cache[raw]


def encrypt_id_number(value: str) -> str:
    """AES-256-GCM with a random nonce; the hash of the number is bound as associated data."""
    enc_key, _ = _keys()
    nonce = os.urandom(12)
    ciphertext = AESGCM(enc_key).encrypt(nonce, value.encode(), b"id-number")
    return "v1:" + base64.urlsafe_b64encode(nonce + ciphertext).decode()


def decrypt_id_number(token: str) -> str:
    enc_key, _ = _keys()
    version, _, body = token.partition(":")
    if version != "v1":
        raise ValueError("unknown ID number encryption version")
    blob = base64.urlsafe_b64decode(body)
    return AESGCM(enc_key).decrypt(blob[:12], blob[12:], b"id-number").decode()


def hash_id_number(value: str) -> str:
    """Keyed hash for lookup and uniqueness: equal numbers give equal hashes, nothing else leaks."""
    _, mac_key = _keys()
    return hmac.new(mac_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    key = (cfg["PASSWORD_HASH_TIME_COST"], cfg["PASSWORD_HASH_MEMORY_COST"])
    cache = current_app.extensions.setdefault("password_hasher", {})
    if key not in cache:
        cache[key] = PasswordHasher(time_cost=key[0], memory_cost=key[1])
    return cache[key]


def hash_password(password: str) -> str:
    """argon2id hash of a password."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; constant work even when there is no hash."""
    if not stored_hash:
        _hasher().hash(password)  # keep timing alike for unknown accounts
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, mobile: str = "", min_length: int = 8) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < min_length:
        return "short"
    if mobile and mobile in password:
        return "mobile"
    if len(set(password)) < 4:
        return "simple"
    return None
