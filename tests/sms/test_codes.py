"""Verification codes (sms/codes.py) on the console backend: six digits, valid five minutes, five wrong tries burn
the code, one use, a resend no sooner than 60 s, at most 10 a day per number and 20 per address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import ValidationFailed
from sms.codes import CodeStatus, check_code, notify_mobile_changed, send_code, send_notice, verify_code
from sms.errors import CodeRefused, DailyLimitReached, TooSoon
from sms.models import SmsMessage, VerificationCode
from sms.purposes import SmsPurpose
from tests.sms.conftest import MOBILE, OTHER_MOBILE

REGISTER = SmsPurpose.REGISTER
IP = "203.0.113.7"


def send(mobile=MOBILE, purpose=REGISTER, *, at, ip=IP):
    return send_code(mobile, purpose, ip_address=ip, now=at)


def test_a_sent_code_is_six_digits_and_proves_the_number_once(db, morning, last_code):
    sent = send(at=morning)
    assert sent.mobile_masked == "138****8000"
    assert sent.expires_at == morning + timedelta(minutes=5)
    assert sent.resend_at == morning + timedelta(seconds=60)
    code = last_code()
    assert len(code) == 6 and code.isdigit()
    db.session.commit()

    assert check_code(MOBILE, REGISTER, code, now=morning + timedelta(minutes=1)).status is CodeStatus.OK
    db.session.commit()
    # used: the same code again proves nothing
    assert check_code(MOBILE, REGISTER, code, now=morning + timedelta(minutes=2)).status is CodeStatus.NONE


def test_the_message_is_recorded_with_the_number_masked(db, morning, last_code):
    send(at=morning)
    message = db.session.scalars(select(SmsMessage)).one()
    assert message.mobile_masked == "138****8000"
    assert message.purpose == "register"
    assert message.backend == "console"
    assert message.status == "sent" and message.sent
    assert message.provider_message_id
    assert last_code() in message.text
    assert "5" in message.text  # minutes valid
    assert MOBILE not in message.text


def test_a_code_is_for_its_number_and_its_purpose(db, morning, last_code):
    send(at=morning)
    code = last_code()
    assert check_code(OTHER_MOBILE, REGISTER, code, now=morning).status is CodeStatus.NONE
    assert check_code(MOBILE, SmsPurpose.RESET_PASSWORD, code, now=morning).status is CodeStatus.NONE
    assert check_code(MOBILE, REGISTER, code, now=morning).ok


def test_the_number_may_be_written_with_the_country_code_and_spaces(db, morning, last_code):
    send("+86 138 0013 8000", at=morning)
    assert check_code("138-0013-8000", REGISTER, last_code(), now=morning).ok


def test_full_width_digits_of_a_chinese_input_method_are_read(db, morning, last_code):
    send("１３８ ００１３ ８０００", at=morning)
    assert check_code(MOBILE, REGISTER, last_code(), now=morning).ok


@pytest.mark.parametrize("mobile", ["", "12345", "23800138000", "1380013800a", "138001380001", "1٣800138000"])
def test_a_number_that_is_not_a_mainland_mobile_is_refused_beside_the_field(db, morning, mobile):
    with pytest.raises(ValidationFailed) as refused:
        send(mobile, at=morning)
    assert refused.value.field == "mobile"
    assert "11-digit" in refused.value.message
    assert db.session.scalar(select(SmsMessage.id)) is None


def test_a_wrong_code_says_how_many_tries_are_left(db, morning, last_code):
    send(at=morning)
    right = last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    checked = check_code(MOBILE, REGISTER, wrong, now=morning)
    assert checked.status is CodeStatus.WRONG
    assert checked.tries_left == 4
    assert "4 tries left" in checked.message
    assert check_code(MOBILE, REGISTER, right, now=morning).ok


def test_five_wrong_tries_burn_the_code(db, morning, last_code):
    send(at=morning)
    right = last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    left = [check_code(MOBILE, REGISTER, wrong, now=morning) for _ in range(5)]
    assert [c.status for c in left] == [CodeStatus.WRONG] * 4 + [CodeStatus.BURNED]
    assert [c.tries_left for c in left[:4]] == [4, 3, 2, 1]
    # even the right code no longer works
    burned = check_code(MOBILE, REGISTER, right, now=morning)
    assert burned.status is CodeStatus.BURNED
    assert "too many times" in burned.message
    stored = db.session.scalars(select(VerificationCode)).one()
    assert stored.wrong_tries == 5 and stored.burned_at is not None and stored.used_at is None


def test_something_that_is_not_six_digits_spends_no_try(db, morning, last_code):
    send(at=morning)
    for typo in ("12345", "abcdef", ""):
        assert check_code(MOBILE, REGISTER, typo, now=morning).tries_left == 5
    assert check_code(MOBILE, REGISTER, f" {last_code()} ", now=morning).ok


def test_a_code_is_valid_five_minutes(db, morning, last_code):
    send(at=morning)
    code = last_code()
    expired = check_code(MOBILE, REGISTER, code, now=morning + timedelta(minutes=5))
    assert expired.status is CodeStatus.EXPIRED
    assert "expired" in expired.message
    assert check_code(MOBILE, REGISTER, code, now=morning + timedelta(minutes=5) - timedelta(seconds=1)).ok


def test_no_code_asked_for_is_none(db, morning):
    checked = check_code(MOBILE, REGISTER, "123456", now=morning)
    assert checked.status is CodeStatus.NONE
    assert "ask for a code" in checked.message
    assert check_code("not a number", REGISTER, "123456", now=morning).status is CodeStatus.NONE


def test_verify_code_refuses_beside_the_code_field(db, morning, last_code):
    send(at=morning)
    with pytest.raises(CodeRefused) as refused:
        verify_code(MOBILE, REGISTER, "000000" if last_code() != "000000" else "111111", now=morning)
    assert refused.value.field == "code"
    assert refused.value.code == "code_wrong"
    assert refused.value.details == {"tries_left": 4}
    assert refused.value.status == 400
    verify_code(MOBILE, REGISTER, last_code(), now=morning)  # no exception: proven


def test_a_resend_within_60_seconds_is_refused_with_the_seconds_left(db, morning, last_code):
    send(at=morning)
    with pytest.raises(TooSoon) as refused:
        send(at=morning + timedelta(seconds=20))
    assert refused.value.seconds_left == 40
    assert refused.value.details == {"seconds_left": 40}
    assert refused.value.status == 429 and refused.value.field == "mobile"
    assert "40 seconds" in refused.value.message
    assert db.session.scalar(select(SmsMessage.id).order_by(SmsMessage.id.desc())) == 1  # nothing more sent

    with pytest.raises(TooSoon) as almost:
        send(at=morning + timedelta(seconds=59, milliseconds=500))
    assert almost.value.seconds_left == 1


def test_a_resend_after_60_seconds_replaces_the_first_code(db, morning, last_code):
    send(at=morning)
    first = last_code()
    send(at=morning + timedelta(seconds=60))
    second = last_code()
    if first != second:
        assert check_code(MOBILE, REGISTER, first, now=morning + timedelta(seconds=61)).status is CodeStatus.WRONG
    assert check_code(MOBILE, REGISTER, second, now=morning + timedelta(seconds=62)).ok


def test_the_wait_is_per_number_and_purpose(db, morning):
    send(at=morning)
    send(MOBILE, SmsPurpose.RESET_PASSWORD, at=morning + timedelta(seconds=1))
    send(OTHER_MOBILE, at=morning + timedelta(seconds=2))


def test_at_most_ten_codes_a_day_to_one_number(db, morning):
    at = morning
    purposes = [REGISTER, SmsPurpose.RESET_PASSWORD]
    for i in range(10):
        send(purpose=purposes[i % 2], at=at, ip=f"198.51.100.{i}")
        at += timedelta(seconds=61)
    with pytest.raises(DailyLimitReached) as refused:
        send(at=at, ip="198.51.100.99")
    assert refused.value.field == "mobile"
    assert "today" in refused.value.message
    assert refused.value.status == 429
    # the local day ends at midnight in Dongguan
    tomorrow = morning + timedelta(hours=15)
    assert send(at=tomorrow, ip="198.51.100.99").mobile_masked == "138****8000"


def test_at_most_twenty_codes_a_day_from_one_address(db, morning):
    for i in range(20):
        send(f"1370000{i:04d}", at=morning + timedelta(seconds=i))
    with pytest.raises(DailyLimitReached) as refused:
        send(OTHER_MOBILE, at=morning + timedelta(seconds=30))
    assert "network" in refused.value.message
    send(OTHER_MOBILE, at=morning + timedelta(seconds=31), ip="198.51.100.1")  # another address
    send(MOBILE, at=morning + timedelta(seconds=32), ip=None)  # no address known (a command): no address limit


def test_the_limits_come_from_the_configuration(app, db, morning):
    app.config.update(SMS_RESEND_SECONDS=5, SMS_DAILY_LIMIT_PER_NUMBER=2)
    send(at=morning)
    send(at=morning + timedelta(seconds=5))
    with pytest.raises(DailyLimitReached):
        send(at=morning + timedelta(seconds=10))


def test_the_clear_code_is_not_stored_with_the_code(db, morning, last_code):
    send(at=morning)
    code = last_code()
    stored = db.session.scalars(select(VerificationCode)).one()
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert MOBILE not in stored.mobile_hash
    assert stored.ip_address == IP
    assert stored.expires_at == morning + timedelta(minutes=5)


def test_the_answer_is_the_same_for_a_registered_number(db, morning, make_user, last_code):
    make_user(mobile=MOBILE)
    registered = send(MOBILE, at=morning)
    unknown = send(OTHER_MOBILE, at=morning)
    assert type(registered) is type(unknown)
    assert registered.expires_at == unknown.expires_at and registered.resend_at == unknown.resend_at
    messages = db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)).all()
    # the same message, but for the digits; the same record
    assert len({re.sub(r"\d{6}", "######", m.text) for m in messages}) == 1
    assert {(m.status, m.purpose, m.backend) for m in messages} == {("sent", "register", "console")}


def test_a_notice_goes_out_without_a_code_or_limits(db, morning):
    for _ in range(3):
        message = send_notice(MOBILE, SmsPurpose.MOBILE_CHANGED_NOTICE, {"mobile": "139****5678"}, now=morning)
        assert message.sent
    assert "139****5678" in message.text
    assert message.purpose == "mobile_changed_notice"
    assert db.session.scalar(select(VerificationCode.id)) is None


def test_codes_and_notices_keep_to_their_own_functions(db, morning):
    with pytest.raises(ValueError):
        send_code(MOBILE, SmsPurpose.MOBILE_CHANGED_NOTICE, ip_address=IP, now=morning)
    with pytest.raises(ValueError):
        send_notice(MOBILE, REGISTER, {}, now=morning)
    with pytest.raises(ValidationFailed):
        send_notice("12", SmsPurpose.MOBILE_CHANGED_NOTICE, {"mobile": "x"}, now=morning)


def test_the_daily_job_prunes_old_codes_locks_and_records(app, db, morning):
    from sms.models import SmsSendLock
    from sms.tasks import prune_sms

    send(at=morning - timedelta(days=3))
    send(at=morning)
    db.session.commit()
    old_message = SmsMessage(
        mobile_masked="138****8000",
        mobile_hash="x" * 64,
        purpose="register",
        backend="console",
        status="sent",
        created_at=morning - timedelta(days=181),
    )
    db.session.add(old_message)
    db.session.commit()

    result = prune_sms(morning, force=True)
    assert result == {"codes": 1, "locks": 0, "messages": 1}
    assert len(db.session.scalars(select(VerificationCode)).all()) == 1
    assert len(db.session.scalars(select(SmsMessage)).all()) == 2
    assert len(db.session.scalars(select(SmsSendLock)).all()) == 2  # the number's and the address's, touched today
    with pytest.raises(TooSoon):  # what counts today is untouched
        send(at=morning + timedelta(seconds=1))


def test_the_console_backend_writes_the_message_to_the_log(db, morning, last_code, caplog):
    with caplog.at_level("INFO", logger="sms"):
        send(at=morning)
    console = [r.getMessage() for r in caplog.records if r.name == "sms.backends.console"]
    assert len(console) == 1
    assert last_code() in console[0] and "138****8000" in console[0]
    assert all(MOBILE not in r.getMessage() for r in caplog.records)  # never the whole number


def test_the_old_number_is_told_of_the_new_one_masked(db, morning):
    notice = notify_mobile_changed(MOBILE, OTHER_MOBILE, now=morning)
    assert notice.sent and notice.mobile_masked == "138****8000"
    assert "139****5678" in notice.text and OTHER_MOBILE not in notice.text
