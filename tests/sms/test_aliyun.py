"""Alibaba Cloud SMS through the real SDK (alibabacloud-dysmsapi20170525) against a fake provider on 127.0.0.1:
what the SDK sends, and what each of the provider's answers becomes."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from sms.codes import check_code, send_code, send_notice
from sms.errors import SmsFailed
from sms.models import SmsMessage, VerificationCode
from sms.purposes import SmsPurpose
from tests.sms.conftest import MOBILE
from tests.sms.fakes import SIGN_NAME, aliyun_error, aliyun_ok, closed_port, provider_config, use_backend

REGISTER = SmsPurpose.REGISTER


def send(at):
    return send_code(MOBILE, REGISTER, ip_address="203.0.113.9", now=at)


def messages(db):
    return db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)).all()


def test_the_sdk_sends_sign_name_template_code_and_credentials(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.reply(200, aliyun_ok("biz-42"))
    sent = send(morning)
    db.session.commit()

    [seen] = fake_provider.requests
    assert seen.headers["x-acs-action"] == "SendSms"
    assert seen.headers["x-acs-version"] == "2017-05-25"
    assert seen.query["PhoneNumbers"] == MOBILE
    assert seen.query["SignName"] == SIGN_NAME
    assert seen.query["TemplateCode"] == "SMS_100001"
    code = json.loads(seen.query["TemplateParam"])["code"]
    assert len(code) == 6 and code.isdigit()
    # signed with the access key (ACS3-HMAC-SHA256), the secret itself never sent
    assert seen.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId,")
    assert "Signature=" in seen.headers["authorization"]
    assert "test-access-key-secret" not in str(seen)

    [message] = messages(db)
    assert (message.backend, message.status, message.provider_message_id) == ("aliyun", "sent", "biz-42")
    assert message.text is None  # a provider's message is not kept
    assert sent.mobile_masked == "138****8000"
    # the code the phone received proves the number
    assert check_code(MOBILE, REGISTER, code, now=morning).ok


def test_neither_the_code_nor_the_number_is_anywhere_in_the_database(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.reply(200, aliyun_ok())
    send(morning)
    db.session.commit()
    assert db.session.scalar(select(VerificationCode.id)) is not None
    code = json.loads(fake_provider.requests[0].query["TemplateParam"])["code"]
    connection = db.session.connection()
    tables = inspect(connection).get_table_names()
    assert {"sms_messages", "sms_verification_codes", "sms_send_locks"} <= set(tables)
    for table in tables:
        for row in connection.execute(text(f"SELECT * FROM {table}")):
            dumped = " ".join(str(value) for value in row)
            assert code not in dumped, table
            assert MOBILE not in dumped, table


@pytest.mark.parametrize("code", ["isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"])
def test_throttling_is_a_clear_message_recorded_and_not_retried(app, db, morning, fake_provider, code):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(200, aliyun_error(code, "触发号码天级流控Permits:10"))
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "Too many messages" in failed.value.message
    assert failed.value.status == 503 and failed.value.field == "mobile"
    assert len(fake_provider.requests) == 1
    db.session.commit()  # what a view does with SmsFailed (commit_refusals): the failure stays recorded
    [message] = messages(db)
    assert (message.status, message.error_code, message.failure, message.attempts) == ("failed", code, "throttled", 1)
    assert message.mobile_masked == "138****8000"
    # no code was sent: none to check, and no wait before asking again
    assert db.session.scalar(select(VerificationCode.id)) is None
    fake_provider.always(200, aliyun_ok())
    send(morning)


def test_a_rejected_number_and_other_errors_are_clear_messages(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(200, aliyun_error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
    with pytest.raises(SmsFailed) as rejected:
        send(morning)
    assert "check the number" in rejected.value.message
    fake_provider.always(200, aliyun_error("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"))
    with pytest.raises(SmsFailed) as broken:
        send(morning)
    assert "could not be sent" in broken.value.message
    fake_provider.always(403, aliyun_error("InvalidAccessKeyId.NotFound", "Specified access key is not found."))
    with pytest.raises(SmsFailed) as denied:
        send(morning)
    assert "could not be sent" in denied.value.message
    assert len(fake_provider.requests) == 3  # none of them retried
    assert [m.error_code for m in messages(db)] == [
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "InvalidAccessKeyId.NotFound",
    ]


def test_a_transient_error_is_retried_then_sent(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(500, aliyun_error("isp.SYSTEM_ERROR", "system error")).reply(200, aliyun_ok("biz-7"))
    send(morning)
    assert len(fake_provider.requests) == 2
    [message] = messages(db)
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 2, "biz-7")


def test_retries_are_bounded_by_the_configuration(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(500, aliyun_error("isp.SYSTEM_ERROR", "system error"))
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "not answering" in failed.value.message
    assert len(fake_provider.requests) == 3  # the first try and two retries
    [message] = messages(db)
    assert (message.status, message.attempts, message.failure) == ("failed", 3, "unavailable")


def test_a_provider_that_does_not_answer_in_time(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint, SMS_TIMEOUT_SECONDS=0.5, SMS_RETRIES=1))
    fake_provider.reply(200, aliyun_ok(), delay=2)
    started = time.monotonic()
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert time.monotonic() - started < 4
    assert "not answering" in failed.value.message
    [message] = messages(db)
    assert (message.error_code, message.attempts) == ("timeout", 2)


def test_a_refused_connection(app, db, morning):
    use_backend(app, provider_config("aliyun", closed_port(), SMS_RETRIES=1))
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "not answering" in failed.value.message
    [message] = messages(db)
    assert (message.error_code, message.attempts, message.status) == ("connection", 2, "failed")


def test_a_notice_that_fails_is_recorded_not_raised(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.reply(200, aliyun_error("isv.BUSINESS_LIMIT_CONTROL"))
    notice = send_notice(MOBILE, SmsPurpose.MOBILE_CHANGED_NOTICE, {"mobile": "139****5678"}, now=morning)
    assert not notice.sent
    [seen] = fake_provider.requests
    assert seen.query["TemplateCode"] == "SMS_100004"
    assert json.loads(seen.query["TemplateParam"]) == {"mobile": "139****5678"}


def test_a_failed_resend_leaves_the_earlier_code_valid(app, db, morning, fake_provider):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.reply(200, aliyun_ok()).reply(200, aliyun_error("isv.BUSINESS_LIMIT_CONTROL"))
    send(morning)
    first = json.loads(fake_provider.requests[0].query["TemplateParam"])["code"]
    later = morning + timedelta(seconds=90)
    with pytest.raises(SmsFailed):
        send(later)
    assert check_code(MOBILE, REGISTER, first, now=later).ok
