"""Changing the mobile number (/me/mobile): the current password and a new number no other account has; a code to
the new number proves it; the old number is told, other sessions end, the audit trail keeps both numbers masked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from tests.sms.fakes import FakeProvider, aliyun_error, provider_config, use_backend
from tests.support import PASSWORD
from tests.volunteers.sms_helpers import (
    code_sent_to,
    codes_of,
    messages_to,
    wrong_code,
)
from volunteers.accounts.models import User

NEW_MOBILE = "13512345678"
CHANGE = "change_mobile"
NOTICE = "mobile_changed_notice"


@pytest.fixture
def person(make_user):
    return make_user(name="陈小明")


@pytest.fixture
def fake_provider():
    """A fake SMS provider on 127.0.0.1 (tests/sms/fakes.py), stopped after the test."""
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def browser(person, login):
    return login(person)


def _ask(client, mobile=NEW_MOBILE, password=PASSWORD):
    return client.post("/me/mobile", data={"mobile": mobile, "current_password": password})


def _confirm(client, code):
    return client.post("/me/mobile/confirm", data={"code": code})


def _mobile_of(db, user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).mobile


def _audit(db):
    db.session.expire_all()
    return db.session.scalars(select(AuditLog).where(AuditLog.action == "account.change_mobile")).all()


def _can_log_in(client, mobile, password=PASSWORD) -> bool:
    return client.post("/login", data={"mobile": mobile, "password": password}).status_code == 302


def test_the_profile_links_to_the_change(browser):
    html = browser.get("/me").get_data(as_text=True)
    assert 'href="/me/mobile"' in html and "Change mobile number" in html


def test_login_is_required(client, db):
    assert client.get("/me/mobile").headers["Location"].startswith("/login")
    assert _ask(client).headers["Location"].startswith("/login")
    assert _confirm(client, "123456").headers["Location"].startswith("/login")
    assert messages_to(NEW_MOBILE) == []


def test_the_whole_change(person, browser, make_client, login, db):
    other_device = login(person, target=make_client())
    old = person.mobile
    asked = _ask(browser, " 135-1234-5678 ")  # any spelling of the number
    assert asked.status_code == 302 and asked.headers["Location"] == "/me/mobile"
    page = browser.get("/me/mobile").get_data(as_text=True)
    assert "A code is on its way to 135****5678." in page and "Enter the code sent to 135****5678." in page
    assert messages_to(old) == []  # nothing yet to the old number

    response = _confirm(browser, code_sent_to(NEW_MOBILE, CHANGE))
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    profile = browser.get("/me").get_data(as_text=True)  # this session goes on
    assert "Your mobile number is now 135****5678" in profile and NEW_MOBILE in profile
    assert _mobile_of(db, person) == NEW_MOBILE
    assert other_device.get("/me").status_code == 302  # the other session ended

    [notice] = messages_to(old, NOTICE)
    assert notice.status == "sent" and "135****5678" in notice.text and NEW_MOBILE not in notice.text
    [entry] = _audit(db)
    assert entry.actor_id == person.id and entry.target_id == person.id
    assert entry.before == {"mobile": old[:3] + "****" + old[-4:]}
    assert entry.after == {"mobile": "135****5678", "old_number_told": True}
    assert old not in repr((entry.before, entry.after)) and NEW_MOBILE not in repr(entry.after)

    assert _can_log_in(make_client(), NEW_MOBILE)
    assert not _can_log_in(make_client(), old)
    # the code worked once; the pending number is gone from the session
    assert _confirm(browser, code_sent_to(NEW_MOBILE, CHANGE)).headers["Location"] == "/me/mobile"


def test_a_number_another_account_has_is_refused_beside_it(person, browser, make_user, db, field_error):
    taken = make_user(mobile="13611112222")
    response = _ask(browser, taken.mobile)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Another account already has this mobile number." in field_error(html, "mobile")
    assert f'value="{taken.mobile}"' in html
    assert messages_to(taken.mobile) == [] and codes_of(taken.mobile, CHANGE) == []


def test_the_same_number_is_refused(person, browser, field_error):
    response = _ask(browser, person.mobile)
    assert response.status_code == 422
    assert "This is already your mobile number." in field_error(response.get_data(as_text=True), "mobile")
    assert messages_to(person.mobile) == []


def test_a_wrong_password_is_refused_first_and_tells_nothing_of_the_number(person, browser, make_user, db, field_error):
    taken = make_user(mobile="13611112222")
    for mobile in (NEW_MOBILE, taken.mobile):
        response = _ask(browser, mobile, password="not-my-password")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "The current password is wrong." in field_error(html, "current_password")
        assert "Another account" not in html
        assert messages_to(mobile) == []


@pytest.mark.parametrize("mobile", ["", "12345", "23512345678", "x" * 5000])
def test_a_bad_number_is_refused_beside_it(browser, field_error, mobile):
    response = _ask(browser, mobile)
    assert response.status_code == 422
    field_error(response.get_data(as_text=True), "mobile")


def test_a_wrong_code_is_told_with_the_tries_left_and_changes_nothing(person, browser, db, field_error):
    old = person.mobile
    _ask(browser)
    right = code_sent_to(NEW_MOBILE, CHANGE)
    response = _confirm(browser, wrong_code(right))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The code is not right. 4 tries left." in field_error(html, "code")
    assert "Enter the code sent to 135****5678." in html
    assert codes_of(NEW_MOBILE, CHANGE)[0].wrong_tries == 1  # the wrong try was kept
    assert _mobile_of(db, person) == old and messages_to(old) == [] and _audit(db) == []
    for _ in range(4):
        _confirm(browser, wrong_code(right))
    burned = _confirm(browser, right)
    assert "entered wrongly too many times" in field_error(burned.get_data(as_text=True), "code")
    assert _mobile_of(db, person) == old


def test_without_a_code_asked_for_there_is_nothing_to_confirm(person, browser, db):
    response = _confirm(browser, "123456")
    assert response.status_code == 302 and response.headers["Location"] == "/me/mobile"
    assert "Ask for a code to the new number first." in browser.get("/me/mobile").get_data(as_text=True)
    assert _mobile_of(db, person) == person.mobile


def test_a_number_taken_meanwhile_is_refused_by_the_database(person, browser, make_user, db):
    old = person.mobile
    _ask(browser)
    code = code_sent_to(NEW_MOBILE, CHANGE)
    rival = make_user(mobile=NEW_MOBILE)  # registered with the number after the code was sent
    response = _confirm(browser, code)
    assert response.status_code == 422
    assert "Another account already has this mobile number." in response.get_data(as_text=True)
    assert _mobile_of(db, person) == old and _mobile_of(db, rival) == NEW_MOBILE
    assert messages_to(old) == [] and _audit(db) == []
    assert browser.get("/me").status_code == 200  # nothing ended


def test_the_pending_number_belongs_to_whoever_asked(person, make_user, login, client, db):
    _ask(login(person))
    code = code_sent_to(NEW_MOBILE, CHANGE)
    client.post("/logout")
    other = make_user()
    login(other)  # the same browser, another account: the session still holds the first one's number
    assert _confirm(client, code).headers["Location"] == "/me/mobile"
    assert _mobile_of(db, other) == other.mobile and _mobile_of(db, person) == person.mobile


def test_a_provider_failure_is_a_clear_message(app, person, browser, fake_provider, field_error):
    use_backend(app, provider_config("aliyun", fake_provider.endpoint))
    fake_provider.always(200, aliyun_error("isv.MOBILE_NUMBER_ILLEGAL"))
    response = _ask(browser)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A text message cannot be sent to this number. Please check the number." in field_error(html, "mobile")
    [failed] = messages_to(NEW_MOBILE)
    assert failed.status == "failed"
    assert "Enter the code sent to" not in html  # no code is waiting


def test_the_posts_are_rate_limited_per_account(app, person, browser):
    app.config["MOBILE_CHANGE_LIMIT_PER_ACCOUNT"] = "2 per 15 minutes"
    for _ in range(2):
        assert _ask(browser, password="not-my-password").status_code == 422
    assert _ask(browser).status_code == 429
    assert messages_to(NEW_MOBILE) == []
