"""Tencent Cloud SMS through the real SDK (tencentcloud-sdk-python-sms) against a fake provider on 127.0.0.1:
what the SDK sends, and what each of the provider's answers becomes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from sms.codes import check_code, send_code, send_notice
from sms.errors import SmsFailed
from sms.models import SmsMessage, VerificationCode
from sms.purposes import SmsPurpose
from tests.sms.conftest import MOBILE
from tests.sms.fakes import (
    SIGN_NAME,
    closed_port,
    provider_config,
    tencent_error,
    tencent_ok,
    tencent_status,
    use_backend,
)

RESET = SmsPurpose.RESET_PASSWORD


def send(at, purpose=RESET):
    return send_code(MOBILE, purpose, ip_address="203.0.113.9", now=at)


def messages(db):
    return db.session.scalars(select(SmsMessage).order_by(SmsMessage.id)).all()


def test_the_sdk_sends_the_app_id_sign_name_template_and_params(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint))
    fake_provider.reply(200, tencent_ok("2640:serial-1"))
    send(morning)
    db.session.commit()

    [seen] = fake_provider.requests
    assert seen.method == "POST" and seen.path == "/"
    assert seen.headers["x-tc-action"] == "SendSms"
    assert seen.headers["x-tc-version"] == "2021-01-11"
    assert seen.headers["x-tc-region"] == "ap-guangzhou"
    body = seen.json()
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["SmsSdkAppId"] == "1400006666"
    assert body["SignName"] == SIGN_NAME
    assert body["TemplateId"] == "SMS_100002"
    [code] = body["TemplateParamSet"]
    assert len(code) == 6 and code.isdigit()
    # signed with the secret id (TC3-HMAC-SHA256), the secret key itself never sent
    assert seen.headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDTestSecretId/")
    assert "Signature=" in seen.headers["authorization"]
    assert "test-secret-key" not in str(seen)

    [message] = messages(db)
    assert (message.backend, message.status, message.provider_message_id) == ("tencent", "sent", "2640:serial-1")
    assert message.text is None and message.purpose == "reset_password"
    assert check_code(MOBILE, RESET, code, now=morning).ok


@pytest.mark.parametrize("code", ["LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberThirtySecondLimit"])
def test_a_numbers_throttling_is_a_clear_message_and_not_retried(app, db, morning, fake_provider, code):
    use_backend(app, provider_config("tencent", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(200, tencent_status(code, "the number's daily limit"))
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "Too many messages" in failed.value.message
    assert len(fake_provider.requests) == 1
    db.session.commit()
    [message] = messages(db)
    assert (message.status, message.error_code, message.failure) == ("failed", code, "throttled")
    assert db.session.scalar(select(VerificationCode.id)) is None
    fake_provider.always(200, tencent_ok())
    send(morning + timedelta(seconds=1))  # no wait after a failed send


def test_a_refused_request_and_a_refused_number(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(200, tencent_error("RequestLimitExceeded", "request limit"))
    with pytest.raises(SmsFailed) as throttled:
        send(morning)
    assert "Too many messages" in throttled.value.message
    fake_provider.always(200, tencent_error("AuthFailure.SecretIdNotFound", "The SecretId is not found"))
    with pytest.raises(SmsFailed) as denied:
        send(morning)
    assert "could not be sent" in denied.value.message
    fake_provider.always(200, tencent_status("InvalidParameterValue.IncorrectPhoneNumber", "bad number"))
    with pytest.raises(SmsFailed) as rejected:
        send(morning)
    assert "check the number" in rejected.value.message
    assert len(fake_provider.requests) == 3
    assert [m.error_code for m in messages(db)] == [
        "RequestLimitExceeded",
        "AuthFailure.SecretIdNotFound",
        "InvalidParameterValue.IncorrectPhoneNumber",
    ]


def test_an_internal_error_is_retried_then_sent(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint, SMS_RETRIES=1))
    fake_provider.reply(200, tencent_error("InternalError.Timeout", "timeout")).reply(200, tencent_ok("2640:s2"))
    send(morning)
    assert len(fake_provider.requests) == 2
    [message] = messages(db)
    assert (message.status, message.attempts) == ("sent", 2)


def test_retries_are_bounded_and_an_http_error_is_transient(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint, SMS_RETRIES=2))
    fake_provider.reply(502, {"message": "bad gateway"})
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "not answering" in failed.value.message
    assert len(fake_provider.requests) == 3
    [message] = messages(db)
    assert (message.status, message.attempts, message.error_code) == ("failed", 3, "http_error")


def test_a_provider_that_does_not_answer_in_time(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint, SMS_TIMEOUT_SECONDS=0.5, SMS_RETRIES=0))
    fake_provider.reply(200, tencent_ok(), delay=2)
    started = time.monotonic()
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert time.monotonic() - started < 2
    assert "not answering" in failed.value.message
    [message] = messages(db)
    assert (message.error_code, message.attempts) == ("timeout", 1)


def test_a_refused_connection(app, db, morning):
    use_backend(app, provider_config("tencent", closed_port(), SMS_RETRIES=1))
    with pytest.raises(SmsFailed) as failed:
        send(morning)
    assert "not answering" in failed.value.message
    [message] = messages(db)
    assert (message.error_code, message.attempts) == ("connection", 2)


def test_a_notice_carries_its_params_in_order(app, db, morning, fake_provider):
    use_backend(app, provider_config("tencent", fake_provider.endpoint))
    fake_provider.reply(200, tencent_ok())
    notice = send_notice(MOBILE, SmsPurpose.MOBILE_CHANGED_NOTICE, {"mobile": "139****5678"}, now=morning)
    assert notice.sent
    body = fake_provider.requests[0].json()
    assert (body["TemplateId"], body["TemplateParamSet"]) == ("SMS_100004", ["139****5678"])
