"""Registration proves the mobile number: the account opens only once the texted code is entered; a wrong code,
a provider that fails and a half-finished registration each do what a new volunteer would expect."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from sms.models import SmsMessage
from tests.sms.fakes import FakeProvider, aliyun_error, provider_config, use_backend
from tests.support import confirm_registration, texted_code
from volunteers.accounts.models import User

MOBILE = "13612345678"


def _user(db) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.mobile == MOBILE))


def test_the_account_opens_only_after_the_texted_code(db, client, registration_data):
    response = client.post("/register", data=registration_data())
    assert response.status_code == 302 and response.headers["Location"].endswith("/register/confirm")
    user = _user(db)
    assert user is not None and user.awaiting_mobile_code and not user.is_active
    page = client.get("/register/confirm").get_data(as_text=True)
    assert "136****5678" in page and MOBILE not in page
    # not logged in yet, and the password alone does not open it
    assert client.get("/me").status_code == 302
    login = client.post("/login", data={"mobile": MOBILE, "password": "Sunflower-2026"})
    assert login.headers["Location"].endswith("/register/confirm")
    done = confirm_registration(client, MOBILE)
    assert done.status_code == 302 and done.headers["Location"].endswith("/me")
    user = _user(db)
    assert user.is_active and user.activated_at is not None
    assert client.get("/me").status_code == 200
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "volunteer.confirm_mobile")) == 1


def test_a_wrong_code_is_shown_beside_the_field_with_the_tries_left(db, client, registration_data, field_error):
    client.post("/register", data=registration_data())
    right = texted_code(MOBILE)
    wrong = "000000" if right != "000000" else "111111"
    response = client.post("/register/confirm", data={"code": wrong})
    assert response.status_code == 422
    assert "4 tries left" in field_error(response.get_data(as_text=True), "code")
    assert not _user(db).is_active
    # the try was counted (committed although refused): four more wrong ones burn the code
    for _ in range(4):
        client.post("/register/confirm", data={"code": wrong})
    burned = client.post("/register/confirm", data={"code": right})
    assert burned.status_code == 422 and "too many times" in burned.get_data(as_text=True)
    assert not _user(db).is_active


def test_a_resend_waits_a_minute(db, client, registration_data):
    client.post("/register", data=registration_data())
    resend = client.post("/register/confirm/resend", follow_redirects=True)
    assert "seconds" in resend.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_a_failing_provider_loses_no_registration(db, app, client, registration_data):
    with FakeProvider() as provider:
        use_backend(app, provider_config("aliyun", provider.endpoint))
        provider.always(200, aliyun_error("isv.BUSINESS_LIMIT_CONTROL"))
        response = client.post("/register", data=registration_data(), follow_redirects=True)
    use_backend(app, {"SMS_BACKEND": "console"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Send another code" in html
    user = _user(db)
    assert user is not None and user.awaiting_mobile_code  # saved, waiting for a code
    failed = db.session.scalars(select(SmsMessage)).one()
    assert failed.status == "failed" and failed.mobile_masked == "136****5678"
    # the provider is back: another code, and the account opens
    client.post("/register/confirm/resend")
    assert confirm_registration(client, MOBILE).status_code == 302
    assert _user(db).is_active


def test_a_half_finished_registration_does_not_block_the_number(db, make_client, registration_data):
    data = registration_data()
    make_client().post("/register", data=data)  # a stranger's, never confirmed
    owner = make_client()
    again = owner.post("/register", data={**data, "name": "真正的主人"})
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(User).where(User.mobile == MOBILE)) == 1
    assert confirm_registration(owner, MOBILE).status_code == 302
    assert _user(db).name == "真正的主人"


def test_confirming_without_a_registration_sends_to_login(client):
    response = client.get("/register/confirm")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/register/confirm", data={"code": "123456"}).status_code == 302


@pytest.mark.parametrize("overrides", [{"mobile": "1361234567"}, {"password_confirm": "other"}])
def test_bad_input_sends_no_text(db, client, registration_data, overrides):
    assert client.post("/register", data=registration_data(**overrides)).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 0
