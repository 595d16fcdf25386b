"""The development outbox (/dev/sms) and the SMS configuration at start-up."""

from __future__ import annotations

import pytest

from app.timeutil import utcnow
from composition import create_app
from sms.codes import send_code
from sms.purposes import SmsPurpose
from tests.sms.conftest import MOBILE
from tests.sms.fakes import provider_config
from tests.support import real_keys, running


@pytest.fixture
def english_messages():
    """The pages choose their own language (the client's English, or Chinese by default)."""
    return None


def test_the_outbox_shows_the_latest_messages_with_their_code(app, db, client, last_code):
    send_code(MOBILE, SmsPurpose.REGISTER, ip_address="203.0.113.1", now=utcnow())
    db.session.commit()
    response = client.get("/dev/sms")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "SMS outbox" in page
    assert "138****8000" in page
    assert last_code() in page
    assert "Registration code" in page
    assert MOBILE not in page


def test_the_outbox_is_in_chinese_by_default(app, db, last_code):
    send_code(MOBILE, SmsPurpose.RESET_PASSWORD, ip_address=None, now=utcnow())
    db.session.commit()
    page = app.test_client().get("/dev/sms").get_data(as_text=True)
    assert "短信" in page
    assert last_code() in page


def test_an_empty_outbox(client):
    response = client.get("/dev/sms")
    assert response.status_code == 200
    assert "No messages yet." in response.get_data(as_text=True)


def test_the_outbox_is_there_in_development(database_url):
    with running(create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})) as application:
        assert application.test_client().get("/dev/sms").status_code == 200


def test_no_outbox_in_production_even_with_the_console_allowed(database_url):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **real_keys()}
    assert config["SMS_CONSOLE_IN_PRODUCTION"]
    with running(create_app("production", config)) as application:
        assert application.test_client().get("/dev/sms").status_code == 404


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_no_outbox_with_a_provider(database_url, backend):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **provider_config(backend, "https://sms.example.invalid")}
    with running(create_app("testing", config)) as application:
        response = application.test_client().get("/dev/sms")
        assert response.status_code == 404


def test_production_refuses_to_start_with_the_console_backend(database_url):
    keys = {k: v for k, v in real_keys().items() if k != "SMS_CONSOLE_IN_PRODUCTION"}
    with pytest.raises(RuntimeError, match="SMS_BACKEND=console writes codes only to the log"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, **keys})


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_production_starts_with_a_configured_provider(database_url, backend):
    keys = {k: v for k, v in real_keys().items() if k != "SMS_CONSOLE_IN_PRODUCTION"}
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **keys, **provider_config(backend, "sms.example.invalid")}
    with running(create_app("production", config)) as application:
        assert application.extensions["sms_backend"].name == backend


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"SMS_ALIYUN_ACCESS_KEY_SECRET": ""}, "SMS_BACKEND=aliyun needs SMS_ALIYUN_ACCESS_KEY_SECRET"),
        ({"SMS_SIGN_NAME": ""}, "needs SMS_SIGN_NAME"),
        ({"SMS_TEMPLATE_GUARDIAN_CONFIRM": ""}, "needs SMS_TEMPLATE_GUARDIAN_CONFIRM"),
        ({"SMS_TIMEOUT_SECONDS": 0}, "SMS_TIMEOUT_SECONDS must be positive"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND must be one of console, aliyun, tencent"),
    ],
)
def test_a_backend_that_cannot_send_refuses_to_start(database_url, override, complaint):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **provider_config("aliyun", "sms.example.invalid"), **override}
    with pytest.raises(RuntimeError, match=complaint):
        create_app("testing", config)


def test_tencent_needs_its_app_id(database_url):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **provider_config("tencent", "x"), "SMS_TENCENT_SDK_APP_ID": ""}
    with pytest.raises(RuntimeError, match="SMS_BACKEND=tencent needs SMS_TENCENT_SDK_APP_ID"):
        create_app("testing", config)
