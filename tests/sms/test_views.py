"""How a view uses the service: a refusal is shown beside its field with 422 (a form) or answered as JSON with its
own status (the API), never a 500; a failed send's record and a wrong try survive the refusal (commit_refusals).

The views here are the shape the accounts area's registration, password reset and mobile change take; they are
registered on the test's app only."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify, render_template_string, request
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from app.errors import DomainError
from app.extensions import db
from app.timeutil import utcnow
from app.web.forms import form_page
from sms.codes import send_code, verify_code
from sms.errors import CodeRefused, SmsFailed
from sms.models import SmsMessage, VerificationCode
from sms.purposes import SmsPurpose
from tests.sms.conftest import MOBILE
from tests.sms.fakes import aliyun_error, provider_config, use_backend

FORM = "<form>{% for field in form %}{{ field.name }}={{ field.data or '' }} {{ field.errors|join(' ') }}|{% endfor %}</form>"


class CodeForm(FlaskForm):
    mobile = StringField()
    code = StringField()


@pytest.fixture
def english_messages():
    """The pages speak the client's language (English)."""
    return None


@pytest.fixture
def views(app):
    bp = Blueprint("sms_test_views", __name__)

    @bp.post("/sms-test/send")
    def send_form():
        form = CodeForm()
        return form_page(
            form,
            lambda: send_code(form.mobile.data, SmsPurpose.REGISTER, ip_address=request.remote_addr, now=utcnow()),
            success="sent",
            then=lambda sent: ("sent to " + sent.mobile_masked, 200),
            render=lambda status: (render_template_string(FORM, form=form), status),
            commit_refusals=(SmsFailed,),
        )

    @bp.post("/sms-test/verify")
    def verify_form():
        form = CodeForm()
        return form_page(
            form,
            lambda: verify_code(form.mobile.data, SmsPurpose.REGISTER, form.code.data, now=utcnow()),
            success="proven",
            then=lambda _result: ("proven", 200),
            render=lambda status: (render_template_string(FORM, form=form), status),
            commit_refusals=(CodeRefused,),
        )

    @bp.post("/api/sms-test/codes")
    def send_json():
        try:
            sent = send_code(request.json["mobile"], "register", ip_address=request.remote_addr, now=utcnow())
        except SmsFailed:
            db.session.commit()  # the failed send's record
            raise
        db.session.commit()
        return jsonify(mobile=sent.mobile_masked, resend_at=sent.resend_at.isoformat())

    app.register_blueprint(bp)
    return app


def test_a_provider_failure_on_a_form_is_shown_beside_the_mobile_and_recorded(views, client, fake_provider):
    use_backend(views, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.always(200, aliyun_error("isv.BUSINESS_LIMIT_CONTROL"))
    response = client.post("/sms-test/send", data={"mobile": MOBILE})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"mobile={MOBILE} Too many messages have been sent to this number." in page
    db.session.remove()
    [message] = db.session.scalars(select(SmsMessage)).all()
    assert (message.status, message.failure) == ("failed", "throttled")


def test_too_soon_on_a_form_and_in_the_api(views, client):
    assert client.post("/sms-test/send", data={"mobile": MOBILE}).status_code == 200
    again = client.post("/sms-test/send", data={"mobile": MOBILE})
    assert again.status_code == 422
    assert "You can ask for another in" in again.get_data(as_text=True)
    api = client.post("/api/sms-test/codes", json={"mobile": MOBILE})
    assert api.status_code == 429
    error = api.get_json()["error"]
    assert error["code"] == "sms_too_soon" and error["field"] == "mobile"
    assert 0 < error["details"]["seconds_left"] <= 60


def test_a_provider_failure_in_the_api_is_json_503(views, client, fake_provider):
    use_backend(views, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.always(500, aliyun_error("isp.SYSTEM_ERROR"))
    response = client.post("/api/sms-test/codes", json={"mobile": MOBILE})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "sms_failed"
    assert "not answering" in response.get_json()["error"]["message"]
    db.session.remove()
    assert db.session.scalars(select(SmsMessage.status)).all() == ["failed"]


def test_a_bad_number_in_the_api_is_json_400(views, client):
    response = client.post("/api/sms-test/codes", json={"mobile": "12345"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "mobile"


def test_wrong_tries_on_a_form_are_kept_and_burn_the_code(views, client, last_code):
    client.post("/sms-test/send", data={"mobile": MOBILE})
    wrong = "000000" if last_code() != "000000" else "111111"  # never the code that was sent
    db.session.remove()
    for tries_left in (4, 3, 2, 1):
        response = client.post("/sms-test/verify", data={"mobile": MOBILE, "code": wrong})
        assert response.status_code == 422
        text = response.get_data(as_text=True)
        assert f"code={wrong} The code is not right. {tries_left} " in text
    last = client.post("/sms-test/verify", data={"mobile": MOBILE, "code": wrong})
    assert "too many times" in last.get_data(as_text=True)
    db.session.remove()
    stored = db.session.scalars(select(VerificationCode)).one()
    assert stored.wrong_tries == 5 and stored.burned_at is not None


def test_no_refusal_is_a_500(views, client):
    for body in ({"mobile": ""}, {"mobile": "1" * 5000}, {"mobile": "1３8００138000\x00"}, {}):
        response = client.post("/sms-test/send", data=body)
        assert response.status_code in (400, 422), body
    assert issubclass(SmsFailed, DomainError)
