"""Property-based tests (hypothesis) of the form validators: ID number, mobile pattern, password rules."""

from __future__ import annotations

import string
from datetime import date, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.security import MOBILE_PATTERN, IdNumberError, check_digit, parse_id_number, password_problem

TODAY = date(2026, 11, 27)
FAST = settings(max_examples=150, deadline=None)


def _is_real_date(first17: str) -> bool:
    try:
        born = date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= TODAY


@FAST
@given(st.text(max_size=40))
@example("４４１９００２００００１０１００１5")  # full-width digits (were accepted, bypassing uniqueness)
@example("441900200001010015\n")
@example("")
def test_parse_id_number_raises_only_id_number_error(raw):
    try:
        parsed = parse_id_number(raw, today=TODAY)
    except IdNumberError:
        return
    assert parsed.value.isascii() and len(parsed.value) == 18


@FAST
@given(st.text(alphabet=string.digits, min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_parse_id_number_accepts_exactly_correct_check_digit_and_real_date(first17, last):
    value = first17 + last
    should_accept = check_digit(first17) == last and _is_real_date(first17)
    try:
        parsed = parse_id_number(value, today=TODAY)
    except IdNumberError:
        assert not should_accept
        return
    assert should_accept
    assert parsed.value == value
    assert parsed.birth_date == date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    assert parsed.sex == ("M" if int(value[16]) % 2 else "F")


@FAST
@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY), st.integers(0, 999999), st.integers(0, 999))
def test_every_real_birth_date_with_its_check_digit_is_accepted(born, region, sequence):
    first17 = f"{region:06d}{born:%Y%m%d}{sequence:03d}"
    parsed = parse_id_number(first17 + check_digit(first17), today=TODAY)
    assert parsed.birth_date == born
    lower = (first17 + check_digit(first17)).lower()
    assert parse_id_number(f"  {lower} ", today=TODAY).value == parsed.value


@FAST
@given(st.dates(min_value=TODAY + timedelta(days=1), max_value=date(9999, 12, 31)))
def test_future_birth_dates_are_refused(born):
    first17 = f"441900{born:%Y%m%d}001"
    try:
        parse_id_number(first17 + check_digit(first17), today=TODAY)
    except IdNumberError:
        return
    raise AssertionError("future birth date accepted")


@FAST
@given(st.text(max_size=20))
@example("13900000000\n")
@example("139０００００００0")
def test_mobile_pattern_accepts_exactly_eleven_ascii_digits_starting_1_3_to_9(text):
    expected = len(text) == 11 and all(c in string.digits for c in text) and text[0] == "1" and text[1] in "3456789"
    assert bool(MOBILE_PATTERN.match(text)) is expected


@FAST
@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_every_well_formed_mobile_matches(text):
    assert MOBILE_PATTERN.match(text)


@FAST
@given(st.text(max_size=40), st.from_regex(r"\A1[3-9][0-9]{9}\Z") | st.just(""), st.integers(1, 20))
def test_password_problem_is_total_and_consistent(password, mobile, min_length):
    problem = password_problem(password, mobile=mobile, min_length=min_length)
    assert problem in (None, "short", "mobile", "simple")
    if problem is None:
        assert len(password) >= min_length
        assert not mobile or mobile not in password
        assert len(set(password)) >= 4
    elif problem == "short":
        assert len(password) < min_length
    elif problem == "mobile":
        assert mobile in password
    else:
        assert len(set(password)) < 4
