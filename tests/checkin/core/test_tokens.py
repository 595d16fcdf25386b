"""Rotating tokens: compact, URL-safe, signed, accepted in the current and the previous window only."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from checkin.refusals import ScanRefused
from checkin.tokens import (
    BadgeClaim,
    KioskClaim,
    badge_token,
    kiosk_token,
    next_rotation,
    parse_badge_token,
    parse_kiosk_token,
    valid_until,
    window_of,
)
from composition import create_app

WINDOW = timedelta(seconds=30)


def refusal(parse, token, at) -> str:
    with pytest.raises(ScanRefused) as caught:
        parse(token, now=at)
    assert caught.value.status == 409 and caught.value.message
    return caught.value.code


def test_kiosk_token_round_trip_and_is_url_safe(app, now):
    token = kiosk_token(42, shift_id=7, now=now)
    assert quote(token, safe="") == token and len(token) < 60
    assert parse_kiosk_token(token, now=now) == KioskClaim(42, 7, window_of(now))
    whole_event = kiosk_token(42, shift_id=None, now=now)
    assert parse_kiosk_token(whole_event, now=now) == KioskClaim(42, None, window_of(now))


def test_badge_token_round_trip(app, now):
    token = badge_token(1234, now=now)
    claim = parse_badge_token(token, now=now)
    assert isinstance(claim, BadgeClaim) and claim.user_id == 1234 and claim.window == window_of(now)
    assert claim.digest and claim.digest in token
    assert badge_token(1234, now=now) == token  # the same for everyone during its window
    assert badge_token(1234, now=now + 2 * WINDOW) != token


def test_tokens_rotate_every_window(app, now):
    assert app.config["CHECKIN_TOKEN_WINDOW_SECONDS"] == 30
    rotation = next_rotation(now)
    assert timedelta(0) < rotation - now <= WINDOW
    assert window_of(rotation) == window_of(now) + 1
    assert valid_until(now) == rotation + WINDOW


def test_previous_window_is_accepted_older_is_expired(app, now):
    token = badge_token(5, now=now)
    assert parse_badge_token(token, now=now + WINDOW).user_id == 5
    assert refusal(parse_badge_token, token, now + 2 * WINDOW) == "token_expired"
    assert (
        refusal(parse_kiosk_token, kiosk_token(1, shift_id=None, now=now - timedelta(hours=1)), now) == "token_expired"
    )


def test_token_from_a_future_window_is_refused(app, now):
    assert refusal(parse_badge_token, badge_token(5, now=now + 2 * WINDOW), now) == "token_expired"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "B.6." + t.split(".", 2)[2],  # another volunteer, same signature
        lambda t: t.rsplit(".", 1)[0] + "." + "A" * 22,  # made-up signature
    ],
)
def test_forged_badge_tokens_are_refused(app, now, tamper):
    token = badge_token(5, now=now)
    assert refusal(parse_badge_token, tamper(token), now) == "token_forged"


def test_token_signed_with_another_secret_is_forged(app, database_url, now):
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "another-secret" * 4})
    with other.app_context():
        foreign = badge_token(5, now=now)
    assert refusal(parse_badge_token, foreign, now) == "token_forged"


def test_the_key_is_derived_not_the_secret_itself(app, now):
    import base64
    import hashlib
    import hmac

    body, _, signature = badge_token(5, now=now).rpartition(".")
    plain = hmac.new(app.config["SECRET_KEY"].encode(), body.encode(), hashlib.sha256).digest()[:16]
    assert base64.urlsafe_b64encode(plain).rstrip(b"=").decode() != signature


def test_wrong_kind_is_refused_both_ways(app, now):
    assert refusal(parse_kiosk_token, badge_token(5, now=now), now) == "token_wrong_kind"
    assert refusal(parse_badge_token, kiosk_token(5, shift_id=None, now=now), now) == "token_wrong_kind"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "hello",
        "B.5",
        "B.5.zz.",
        "B.05.zmzjt.AAAAAAAAAAAAAAAAAAAAAA",
        "X.5.zmzjt.AAAAAAAAAAAAAAAAAAAAAA",
        "B.5.zmzjt.AAAAAAAAAAAAAAAAAAAAA=",
        "B.5.zmzjt.AAAAAAAAAAAAAAAAAAAAAA.x",
        "志愿者",
        "B.5.\u0661.AAAAAAAAAAAAAAAAAAAAAA",
        None,
        12345,
        b"B.5",
    ],
)
def test_malformed_tokens_are_refused(app, now, token):
    assert refusal(parse_badge_token, token, now) == "token_malformed"
    assert refusal(parse_kiosk_token, token, now) == "token_malformed"


@pytest.mark.parametrize("size", [513, 10 * 1024])
def test_oversized_tokens_are_refused_before_parsing(app, now, size):
    valid = badge_token(5, now=now)
    oversized = valid + "A" * (size - len(valid))
    assert len(oversized) == size
    assert refusal(parse_badge_token, oversized, now) == "token_too_long"
    assert refusal(parse_kiosk_token, "K" * size, now) == "token_too_long"
    assert refusal(parse_badge_token, "志" * 200, now) == "token_too_long"  # 600 bytes in UTF-8
