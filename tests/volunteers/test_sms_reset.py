"""Password reset by SMS (/forgot, /forgot/reset): a code to the account's mobile, then the code and a new password.
The answers never tell whether a number has an account; a wrong, expired or burned code is told beside the code with
the tries left; the reset ends every session and revokes the API tokens; a provider's failure is a clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.tokens import create_token
from app.audit import AuditLog
from app.timeutil import utcnow
from sms.codes import withhold_code
from sms.errors import CodeRefused, DailyLimitReached, TooSoon
from sms.models import VerificationCode
from tests.sms.fakes import FakeProvider, aliyun_error, aliyun_ok, provider_config, use_backend
from tests.support import PASSWORD
from tests.volunteers.sms_helpers import (
    code_sent_to,
    codes_of,
    messages_to,
    without_csrf,
    wrong_code,
)
from volunteers.accounts.models import User
from volunteers.recovery import sms_reset

NEW_PASSWORD = "Lychee-blossom-77"
RESET = "reset_password"


@pytest.fixture
def person(make_user):
    return make_user(name="陈小明")


@pytest.fixture
def fake_provider():
    """A fake SMS provider on 127.0.0.1 (tests/sms/fakes.py), stopped after the test."""
    with FakeProvider() as provider:
        yield provider


def _ask(client, mobile, address="10.9.0.1"):
    return client.post("/forgot", data={"mobile": mobile}, environ_overrides={"REMOTE_ADDR": address})


def _reset(client, mobile, code, password=NEW_PASSWORD, confirm=None, address="10.9.0.1"):
    data = {"mobile": mobile, "code": code, "new_password": password, "new_password_confirm": confirm or password}
    return client.post("/forgot/reset", data=data, environ_overrides={"REMOTE_ADDR": address})


def _can_log_in(client, mobile, password) -> bool:
    return client.post("/login", data={"mobile": mobile, "password": password}).status_code == 302


def _password_hash(db, user):
    db.session.expire_all()
    return db.session.get(User, user.id).password_hash


def _stranger(mobile: str) -> str:
    """A number nobody has, masked the same way as `mobile` (139****0012)."""
    return mobile[:3] + ("8888" if mobile[3:7] != "8888" else "7777") + mobile[7:]


def test_the_login_page_links_to_the_reset(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot"' in html and "Forgot your password?" in html


def test_the_whole_reset_by_sms(person, client, make_client, login, db):
    old_session = login(person, target=make_client())
    _row, api_secret = create_token(person, "tests", by=None, now=utcnow())
    db.session.commit()

    asked = _ask(client, person.mobile)
    assert asked.status_code == 302 and asked.headers["Location"] == "/forgot/reset"
    step_two = client.get("/forgot/reset").get_data(as_text=True)
    masked = person.mobile[:3] + "****" + person.mobile[-4:]
    assert f"If an account has the number {masked}, a code is on its way to it." in step_two
    assert "The code is valid for 5 minutes. You can ask for another in 60 seconds." in step_two
    assert f'value="{person.mobile}"' in step_two  # the number is filled in
    [message] = messages_to(person.mobile, RESET)
    assert message.mobile_masked == masked and message.status == "sent"

    response = _reset(client, person.mobile, code_sent_to(person.mobile, RESET))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Your password has been changed." in client.get("/login").get_data(as_text=True)

    assert old_session.get("/me").status_code == 302  # every session ended
    api = make_client().get("/api/v1/me/assignments", headers={"Authorization": f"Bearer {api_secret}"})
    assert api.status_code == 401
    assert not _can_log_in(make_client(), person.mobile, PASSWORD)
    assert _can_log_in(make_client(), person.mobile, NEW_PASSWORD)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "account.reset_password")).one()
    assert entry.actor_id == person.id and entry.after == {"via": "sms", "api_tokens_revoked": 1}
    # the code worked once
    again = _reset(make_client(), person.mobile, code_sent_to(person.mobile, RESET), password="Another-pass-88")
    assert again.status_code == 422 and "No valid code for this number." in again.get_data(as_text=True)


@pytest.mark.parametrize("other", ["unknown", "disabled"])
def test_a_number_without_a_usable_account_cannot_be_told_apart(person, make_user, make_client, db, other):
    if other == "unknown":
        number = _stranger(person.mobile)
    else:
        number = make_user(mobile=_stranger(person.mobile), is_disabled=True).mobile
    known, unknown = make_client(), make_client()
    pages = []
    for client, mobile in ((known, person.mobile), (unknown, number)):
        asked = _ask(client, mobile, address=f"10.9.1.{len(pages)}")
        page = client.get(asked.headers["Location"])
        again = _ask(client, mobile, address=f"10.9.1.{len(pages)}")  # within the resend wait
        guess = wrong_code(code_sent_to(person.mobile, RESET))  # the same wrong code for both
        wrong = _reset(client, mobile, guess, address=f"10.9.1.{len(pages)}")
        pages.append(
            [
                (r.status_code, r.headers.get("Location"), without_csrf(r.get_data(as_text=True)).replace(mobile, "N"))
                for r in (asked, page, again, wrong)
            ]
        )
    assert pages[0] == pages[1]
    (_a, _l, page), (_b, _m, too_soon), (status, _n, wrong_html) = pages[0][1:]
    assert "a code is on its way to it" in page
    assert "You can ask for another in" in too_soon
    assert status == 422 and "The code is not right. 4 tries left." in wrong_html
    # a code went to the known number only; both count for the wait and the limits
    assert messages_to(number) == [] and len(messages_to(person.mobile)) == 1
    assert len(codes_of(number, RESET)) == 1 and len(codes_of(person.mobile, RESET)) == 1


def test_without_any_code_asked_both_answer_no_valid_code(person, make_client):
    answers = []
    for mobile in (person.mobile, _stranger(person.mobile)):
        response = _reset(make_client(), mobile, "123456")
        answers.append((response.status_code, without_csrf(response.get_data(as_text=True)).replace(mobile, "N")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422 and "No valid code for this number. Please ask for a code first." in answers[0][1]


def test_a_wrong_code_is_told_beside_the_code_with_the_tries_left(person, client, db, field_error):
    _ask(client, person.mobile)
    right = code_sent_to(person.mobile, RESET)
    before = _password_hash(db, person)
    response = _reset(client, person.mobile, wrong_code(right))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The code is not right. 4 tries left." in field_error(html, "code")
    assert f'value="{person.mobile}"' in html and f'value="{wrong_code(right)}"' in html  # what was typed is kept
    assert codes_of(person.mobile, RESET)[0].wrong_tries == 1  # the try was kept though refused
    assert _password_hash(db, person) == before
    assert _reset(client, person.mobile, right).status_code == 302


def test_five_wrong_tries_burn_the_code(person, client, db, field_error):
    _ask(client, person.mobile)
    right = code_sent_to(person.mobile, RESET)
    for tries_left in (4, 3, 2, 1):
        html = _reset(client, person.mobile, wrong_code(right)).get_data(as_text=True)
        assert f"The code is not right. {tries_left} " in field_error(html, "code")
    last = _reset(client, person.mobile, wrong_code(right))
    assert "entered wrongly too many times" in field_error(last.get_data(as_text=True), "code")
    burned = _reset(client, person.mobile, right)  # even the right code now
    assert burned.status_code == 422
    assert "entered wrongly too many times" in field_error(burned.get_data(as_text=True), "code")
    assert codes_of(person.mobile, RESET)[0].burned_at is not None
    assert not _can_log_in(client, person.mobile, NEW_PASSWORD)


def test_a_code_expires_after_five_minutes(person, client, db, field_error):
    now = utcnow()
    sent = sms_reset.request_reset_code(person.mobile, ip_address="10.9.2.1", now=now)
    db.session.commit()
    assert sent.expires_at - now == timedelta(minutes=5)
    right = code_sent_to(person.mobile, RESET)
    with pytest.raises(CodeRefused) as expired:
        sms_reset.reset_with_code(person.mobile, right, NEW_PASSWORD, now=now + timedelta(minutes=5))
    assert expired.value.code == "code_expired"
    db.session.rollback()
    # through the page: the code's five minutes are over
    db.session.execute(update(VerificationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = _reset(client, person.mobile, right)
    assert response.status_code == 422
    assert "The code has expired. Please ask for a new one." in field_error(response.get_data(as_text=True), "code")
    assert not _can_log_in(client, person.mobile, NEW_PASSWORD)


def test_a_disabled_account_cannot_reset(person, client, make_client, db, field_error):
    person.is_disabled = True
    db.session.commit()
    assert _ask(client, person.mobile).status_code == 302
    assert messages_to(person.mobile) == []  # nothing is sent to a disabled account
    response = _reset(client, person.mobile, "000000")
    assert response.status_code == 422
    assert "The code is not right." in field_error(response.get_data(as_text=True), "code")
    # disabled after the code was sent: the right code does not reset it either
    person.is_disabled = False
    db.session.commit()
    sms_reset.request_reset_code(person.mobile, ip_address="10.9.3.1", now=utcnow() + timedelta(minutes=1))
    right = code_sent_to(person.mobile, RESET)
    person.is_disabled = True
    db.session.commit()
    before = _password_hash(db, person)
    refused = _reset(make_client(), person.mobile, right, address="10.9.3.1")
    assert refused.status_code == 422
    assert "This account is disabled." in refused.get_data(as_text=True)
    assert _password_hash(db, person) == before


def test_an_imported_account_not_yet_activated_is_activated_by_the_reset(make_user, client, db):
    imported = make_user(password_hash=None, activated_at=None, source="imported")
    _ask(client, imported.mobile)
    assert _reset(client, imported.mobile, code_sent_to(imported.mobile, RESET)).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, imported.id).activated_at is not None
    assert _can_log_in(client, imported.mobile, NEW_PASSWORD)


@pytest.mark.parametrize(
    "password, confirm, field, message",
    [
        ("short1!", None, "new_password", "Password must be at least 8 characters."),
        ("aaaabbbb", None, "new_password", "Password is too simple"),
        (NEW_PASSWORD, "Something-else-1", "new_password_confirm", "Passwords do not match."),
    ],
)
def test_a_bad_new_password_is_refused_and_the_code_is_not_spent(
    person, client, db, field_error, password, confirm, field, message
):
    _ask(client, person.mobile)
    right = code_sent_to(person.mobile, RESET)
    response = _reset(client, person.mobile, right, password=password, confirm=confirm)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert codes_of(person.mobile, RESET)[0].used_at is None
    assert _reset(client, person.mobile, right).status_code == 302


def test_a_password_containing_the_mobile_is_refused(person, client, field_error):
    _ask(client, person.mobile)
    response = _reset(client, person.mobile, code_sent_to(person.mobile, RESET), password=f"x{person.mobile}y")
    assert response.status_code == 422
    assert "must not contain your mobile number" in field_error(response.get_data(as_text=True), "new_password")


@pytest.mark.parametrize("mobile", ["", "12345", "1" * 5000, "１３８００", "23800138000"])
def test_a_bad_number_is_told_beside_it_and_kept(client, field_error, mobile):
    response = _ask(client, mobile)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field_error(html, "mobile")
    reset = _reset(client, mobile, "123456")
    assert reset.status_code == 422
    field_error(reset.get_data(as_text=True), "mobile")


def test_a_nul_in_the_number_is_a_bad_request_not_a_500(client):
    assert _ask(client, "138\x0000138000").status_code == 400
    assert _reset(client, "138\x0000138000", "123456").status_code == 400


def test_a_resend_waits_a_minute_for_every_number(person, client, field_error):
    _ask(client, person.mobile)
    again = _ask(client, person.mobile)
    assert again.status_code == 422
    text = field_error(again.get_data(as_text=True), "mobile")
    assert "A code was just sent. You can ask for another in" in text
    assert f'value="{person.mobile}"' in again.get_data(as_text=True)
    assert len(messages_to(person.mobile)) == 1


def test_withheld_codes_count_for_the_wait_and_the_daily_limits(app, person, db):
    """A number without an account meets the resend wait and the limits exactly where a registered one does."""
    now = utcnow()
    app.config["SMS_DAILY_LIMIT_PER_NUMBER"] = 2
    app.config["SMS_DAILY_LIMIT_PER_ADDRESS"] = 5
    for mobile in (person.mobile, _stranger(person.mobile)):
        sms_reset.request_reset_code(mobile, ip_address="10.9.4.1", now=now)
        with pytest.raises(TooSoon):
            sms_reset.request_reset_code(mobile, ip_address="10.9.4.1", now=now + timedelta(seconds=30))
        sms_reset.request_reset_code(mobile, ip_address="10.9.4.1", now=now + timedelta(minutes=2))
        with pytest.raises(DailyLimitReached) as limit:
            sms_reset.request_reset_code(mobile, ip_address="10.9.4.1", now=now + timedelta(minutes=4))
        assert limit.value.field == "mobile"
    # four codes from this address so far, two of them withheld: the fifth is the last one
    sms_reset.request_reset_code("13512340000", ip_address="10.9.4.1", now=now)
    with pytest.raises(DailyLimitReached) as address_limit:
        sms_reset.request_reset_code("13512340001", ip_address="10.9.4.1", now=now)
    assert address_limit.value.field is None
    assert len(messages_to(person.mobile)) == 2 and messages_to(_stranger(person.mobile)) == []
    assert (
        withhold_code(_stranger(person.mobile), RESET, ip_address=None, now=now + timedelta(days=1)).message_id is None
    )


def test_a_provider_failure_is_a_clear_message_and_recorded(app, person, client, fake_provider, field_error):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.always(500, aliyun_error("isp.SYSTEM_ERROR"))
    response = _ask(client, person.mobile)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The text message service is not answering. Please try again in a few minutes." in field_error(
        html, "mobile"
    )
    assert f'value="{person.mobile}"' in html
    [failed] = messages_to(person.mobile)
    assert failed.status == "failed" and failed.failure == "unavailable"
    assert codes_of(person.mobile, RESET) == []  # no code: the wait does not apply
    fake_provider.always(200, aliyun_ok())
    assert _ask(client, person.mobile).status_code == 302
    assert [m.status for m in messages_to(person.mobile)] == ["failed", "sent"]


def test_the_posts_are_rate_limited_per_address(app, person, make_client):
    app.config["SMS_RESET_LIMIT_PER_ADDRESS"] = "2 per 15 minutes"
    for n in range(2):
        assert _reset(make_client(), f"1390000{n:04d}", "123456", address="10.9.5.5").status_code == 422
    throttled = _reset(make_client(), person.mobile, "123456", address="10.9.5.5")
    assert throttled.status_code == 429
    assert "Too many attempts; please wait and try again." in throttled.get_data(as_text=True)
    assert _reset(make_client(), person.mobile, "123456", address="10.9.5.6").status_code == 422
    for n in range(2):
        _ask(make_client(), f"1380000{n:04d}", address="10.9.5.7")
    assert _ask(make_client(), person.mobile, address="10.9.5.7").status_code == 429
    assert messages_to(person.mobile) == []


def test_a_logged_in_volunteer_is_sent_to_the_profile(person, login):
    client = login(person)
    assert client.get("/forgot").headers["Location"] == "/me"
    assert client.get("/forgot/reset").headers["Location"] == "/me"


def test_a_registration_never_confirmed_opens_through_the_reset(client, make_client, registration_data, db):
    data = registration_data(mobile="13612340099")
    make_client().post("/register", data=data)  # the registration code was never entered
    login = make_client().post("/login", data={"mobile": data["mobile"], "password": data["password"]})
    assert login.headers["Location"] == "/register/confirm"  # not in: sent on to enter the code
    _ask(client, data["mobile"])
    assert _reset(client, data["mobile"], code_sent_to(data["mobile"], RESET)).status_code == 302
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.mobile == data["mobile"]))
    assert not user.awaiting_mobile_code and user.is_active  # the reset code proved the number too
    opened = make_client().post("/login", data={"mobile": data["mobile"], "password": NEW_PASSWORD})
    assert opened.headers["Location"] == "/me"
