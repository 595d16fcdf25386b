"""One-time password reset links: issued by reviewers and administrators of the volunteer's subtree, shown once,
audited, valid 24 hours, used once; a reset ends every session and revokes the API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.models import ApiToken
from api.tokens import create_token
from app.audit import AuditLog
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.timeutil import utcnow
from tests.support import PASSWORD
from volunteers.accounts.models import User
from volunteers.recovery import services
from volunteers.recovery.models import PasswordResetLink

NEW_PASSWORD = "Lychee-blossom-77"
LINK = re.compile(r'id="reset-link-url" type="text" readonly value="(http://localhost/reset/([^"]+))"')


@pytest.fixture
def person(people):
    return people["nancheng_volunteer"]


def _issue(client, person) -> str:
    """Issue a link through the profile page's button; the link's secret."""
    response = client.post(f"/volunteers/{person.id}/reset-link")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    found = LINK.search(response.get_data(as_text=True))
    assert found, "the page shows no link"
    return found.group(2)


def _reset(client, secret, password=NEW_PASSWORD, confirm=None):
    return client.post(f"/reset/{secret}", data={"new_password": password, "new_password_confirm": confirm or password})


def _links(db, person):
    db.session.expire_all()
    return db.session.scalars(
        select(PasswordResetLink).where(PasswordResetLink.user_id == person.id).order_by(PasswordResetLink.id)
    ).all()


def _audit(db, action):
    db.session.expire_all()
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def _can_log_in(client, person, password) -> bool:
    return client.post("/login", data={"mobile": person.mobile, "password": password}).status_code == 302


def test_a_reviewer_issues_a_link_shown_once_and_audited_without_the_secret(people, person, login_as, db):
    reviewer = login_as(people["reviewer"])
    secret = _issue(reviewer, person)
    [link] = _links(db, person)
    assert link.token_hash == services.hash_link_secret(secret) and secret not in link.token_hash
    assert link.issued_by_id == people["reviewer"].id
    assert link.expires_at - link.created_at == timedelta(hours=24)
    [entry] = _audit(db, "account.reset_link")
    assert (entry.actor_id, entry.target_id, entry.organization_id) == (
        people["reviewer"].id,
        person.id,
        person.organization_id,
    )
    assert secret not in repr((entry.before, entry.after, entry.note))
    # the profile afterwards does not show it again
    assert secret not in reviewer.get(f"/volunteers/{person.id}").get_data(as_text=True)


def test_the_link_resets_the_password_once_and_ends_every_session(
    people, person, login_as, make_client, client, db, field_error
):
    old_session = login_as(person)
    _row, api_secret = create_token(person, "tests", by=None, now=utcnow())
    db.session.commit()
    secret = _issue(login_as(people["admin"]), person)

    page = client.get(f"/reset/{secret}")
    assert page.status_code == 200 and person.name not in page.get_data(as_text=True)
    response = _reset(client, secret)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Your password has been changed." in client.get("/login").get_data(as_text=True)

    assert old_session.get("/me").status_code == 302  # the old session ended
    api = make_client().get("/api/v1/me/assignments", headers={"Authorization": f"Bearer {api_secret}"})
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "invalid_token"
    assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == person.id)) is not None
    assert not _can_log_in(make_client(), person, PASSWORD)
    assert _can_log_in(make_client(), person, NEW_PASSWORD)

    [link] = _links(db, person)
    assert link.used_at is not None
    [entry] = _audit(db, "account.reset_password")
    assert entry.actor_id == person.id and entry.after == {"via": "link", "api_tokens_revoked": 1}

    again = _reset(make_client(), secret, password="Another-pass-88")
    assert again.status_code == 410
    assert "expired or was already used" in again.get_data(as_text=True)
    assert make_client().get(f"/reset/{secret}").status_code == 410
    assert _can_log_in(make_client(), person, NEW_PASSWORD)


def test_a_link_expires_after_24_hours(people, person, client, db):
    now = utcnow()
    link, secret = services.issue_reset_link(person, by=people["reviewer"], now=now)
    db.session.commit()
    assert services.find_link(secret, now=now + timedelta(hours=23, minutes=59)).id == link.id
    with pytest.raises(services.LinkGone):
        services.find_link(secret, now=now + timedelta(hours=24))
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/reset/{secret}")
    assert response.status_code == 410
    assert _reset(client, secret).status_code == 410
    assert not _can_log_in(client, person, NEW_PASSWORD)


def test_a_new_link_voids_the_older_one(people, person, login_as, client, db):
    admin = login_as(people["admin"])
    first = _issue(admin, person)
    second = _issue(admin, person)
    assert client.get(f"/reset/{first}").status_code == 410
    assert client.get(f"/reset/{second}").status_code == 200
    assert _audit(db, "account.reset_link")[-1].after["older_links_voided"] == 1


@pytest.mark.parametrize("secret", ["nothing-like-a-link-at-all-000000000", "x", "a" * 300])
def test_an_unknown_link_is_not_found_and_names_nobody(client, person, secret):
    response = client.get(f"/reset/{secret}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "This password reset link is not valid." in html
    assert person.name not in html and person.mobile not in html
    assert _reset(client, secret).status_code == 404


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("short1!", None, "Password must be at least 8 characters."),
        ("aaaabbbb", None, "Password is too simple"),
        (NEW_PASSWORD, "Something-else-1", "Passwords do not match."),
    ],
)
def test_a_bad_new_password_is_refused_beside_the_field_and_the_link_stays(
    people, person, client, db, field_error, password, confirm, message
):
    _link, secret = services.issue_reset_link(person, by=people["reviewer"], now=utcnow())
    db.session.commit()
    response = _reset(client, secret, password=password, confirm=confirm)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = "new_password_confirm" if confirm else "new_password"
    assert message in field_error(html, field)
    assert _links(db, person)[0].used_at is None
    assert _reset(client, secret).status_code == 302


def test_a_password_containing_the_mobile_is_refused(people, person, client, db, field_error):
    _link, secret = services.issue_reset_link(person, by=people["reviewer"], now=utcnow())
    db.session.commit()
    response = _reset(client, secret, password=f"x{person.mobile}y")
    assert response.status_code == 422
    assert "must not contain your mobile number" in field_error(response.get_data(as_text=True), "new_password")


@pytest.mark.parametrize("who", ["dongcheng_admin", "coordinator", "nancheng_volunteer2"])
def test_only_reviewers_and_administrators_of_the_subtree_issue_links(people, person, login_as, db, who):
    response = login_as(people[who]).post(f"/volunteers/{person.id}/reset-link")
    assert response.status_code == 403
    assert _links(db, person) == [] and _audit(db, "account.reset_link") == []


def test_a_reviewer_cannot_take_over_a_staff_account(people, login_as, db):
    coordinator = people["coordinator"]
    assert login_as(people["reviewer"]).post(f"/volunteers/{coordinator.id}/reset-link").status_code == 403
    assert _links(db, coordinator) == []
    # the administrator over the coordinator's role may
    _issue(login_as(people["admin"]), coordinator)
    with pytest.raises(PermissionDenied):
        services.issue_reset_link(people["city_admin"], by=people["admin"], now=utcnow())


def test_refused_for_oneself_a_disabled_or_a_not_activated_account(people, person, make_user, orgs, login_as, db):
    reviewer = people["reviewer"]
    with pytest.raises(Conflict):
        services.issue_reset_link(reviewer, by=reviewer, now=utcnow())
    imported = make_user(organization=orgs["nancheng_team"], password_hash=None, source="imported")
    with pytest.raises(Conflict):
        services.issue_reset_link(imported, by=reviewer, now=utcnow())
    person.is_disabled = True
    db.session.commit()
    client = login_as(reviewer)
    response = client.post(f"/volunteers/{person.id}/reset-link")
    assert response.status_code == 302 and response.headers["Location"] == f"/volunteers/{person.id}"
    assert "enable it before issuing a reset link" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _links(db, person) == []


def test_disabling_the_account_voids_its_link(people, person, login_as, client, db):
    secret = _issue(login_as(people["reviewer"]), person)
    login_as(people["admin"]).post(f"/admin/people/{person.id}/disable", data={"reason": "停用"})
    assert client.get(f"/reset/{secret}").status_code == 410
    assert _links(db, person)[0].voided_at is not None


def test_reset_password_is_the_one_service_for_sms_too(people, person, make_client, login_as, db):
    now = utcnow()
    session = login_as(person)
    _row, api_secret = create_token(person, "tests", by=None, now=now)
    _link, secret = services.issue_reset_link(person, by=people["reviewer"], now=now)
    db.session.commit()
    services.reset_password(person, NEW_PASSWORD, now=now, via="sms")
    db.session.commit()
    assert session.get("/me").status_code == 302
    api = make_client().get("/api/v1/me/assignments", headers={"Authorization": f"Bearer {api_secret}"})
    assert api.status_code == 401
    assert make_client().get(f"/reset/{secret}").status_code == 410  # outstanding links are void
    assert _audit(db, "account.reset_password")[-1].after == {"via": "sms", "api_tokens_revoked": 1}
    with pytest.raises(ValidationFailed) as weak:
        services.reset_password(person, "short", now=now, via="sms")
    assert weak.value.field == "new_password"
    person.is_disabled = True
    with pytest.raises(Conflict):
        services.reset_password(person, NEW_PASSWORD, now=now, via="sms")
    with pytest.raises(ValueError):
        services.reset_password(person, NEW_PASSWORD, now=now, via="pigeon")


def test_find_link_refuses_unknown_secrets(db):
    with pytest.raises(NotFound):
        services.find_link("unknown-secret-unknown-secret-0000", now=utcnow())


def test_a_logged_in_stranger_who_opens_the_link_is_logged_out_after_the_reset(people, person, login_as, db):
    _link, secret = services.issue_reset_link(person, by=people["reviewer"], now=utcnow())
    db.session.commit()
    browser = login_as(people["dongcheng_volunteer"])
    assert _reset(browser, secret).status_code == 302
    assert browser.get("/me").status_code == 302
    assert db.session.get(User, person.id).password_hash is not None
