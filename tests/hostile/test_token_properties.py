"""Property-based tests (hypothesis) of the check-in token parsers: refusal is the only failure,
tokens made by the module round-trip, and any single-character change of a valid token is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkin.refusals import REFUSAL_CODES, ScanRefused
from checkin.tokens import badge_token, kiosk_token, parse_badge_token, parse_kiosk_token, window_seconds

NOW = datetime(2026, 11, 27, 2, 0, 0, tzinfo=UTC)
# the `app` fixture only provides the SECRET_KEY context: the parsers read nothing else
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PARSERS = [parse_kiosk_token, parse_badge_token]
TOKEN_CHARS = "KB.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_= \n"
ids = st.integers(min_value=1, max_value=36**13 - 1)


def _refusal_or_claim(parser, token):
    try:
        return parser(token, now=NOW)
    except ScanRefused as refused:
        assert refused.code in REFUSAL_CODES and refused.code.startswith("token_")
        return None


@FAST
@pytest.mark.parametrize("parser", PARSERS)
@given(
    token=st.one_of(
        st.text(max_size=600),
        st.text(alphabet=TOKEN_CHARS, max_size=80),
        st.binary(max_size=80),
        st.none(),
        st.integers(),
        st.lists(st.text(max_size=5), max_size=3),
    )
)
def test_arbitrary_input_is_only_ever_refused(app, parser, token):
    assert _refusal_or_claim(parser, token) is None


@FAST
@given(event_id=ids, shift_id=st.none() | ids, offset=st.integers(0, 2 * 30 - 1))
def test_kiosk_tokens_round_trip(app, event_id, shift_id, offset):
    made = kiosk_token(event_id, shift_id=shift_id, now=NOW)
    claim = parse_kiosk_token(made, now=NOW + timedelta(seconds=offset % window_seconds()))
    assert (claim.event_id, claim.shift_id) == (event_id, shift_id)
    with pytest.raises(ScanRefused) as wrong_kind:
        parse_badge_token(made, now=NOW)
    assert wrong_kind.value.code == "token_wrong_kind"
    with pytest.raises(ScanRefused) as expired:
        parse_kiosk_token(made, now=NOW + timedelta(seconds=3 * window_seconds()))
    assert expired.value.code == "token_expired"


@FAST
@given(user_id=ids)
def test_badge_tokens_round_trip(app, user_id):
    made = badge_token(user_id, now=NOW)
    claim = parse_badge_token(made, now=NOW)
    assert claim.user_id == user_id and made.endswith(claim.digest)
    with pytest.raises(ScanRefused) as wrong_kind:
        parse_kiosk_token(made, now=NOW)
    assert wrong_kind.value.code == "token_wrong_kind"


def _mutations(draw, token: str) -> str:
    position = draw(st.integers(0, len(token) - 1))
    kind = draw(st.sampled_from(["replace", "delete", "insert"]))
    char = draw(st.characters(codec="utf-8") | st.sampled_from(TOKEN_CHARS.strip()))
    if kind == "replace":
        if char == token[position]:
            char = "0" if token[position] != "0" else "1"
        return token[:position] + char + token[position + 1 :]
    if kind == "delete":
        return token[:position] + token[position + 1 :]
    return token[:position] + char + token[position:]


@st.composite
def mutated_tokens(draw):
    if draw(st.booleans()):
        shift = draw(st.none() | ids)
        made = kiosk_token(draw(ids), shift_id=shift, now=NOW)
    else:
        made = badge_token(draw(ids), now=NOW)
    return made, _mutations(draw, made)


@FAST
@given(pair=mutated_tokens())
def test_any_single_character_change_is_refused(app, pair):
    original, mutated = pair
    if mutated.strip() == original:  # whitespace around a token is tolerated by design
        return
    for parser in PARSERS:
        with pytest.raises(ScanRefused):
            parser(mutated, now=NOW)
