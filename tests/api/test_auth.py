"""Authentication: session or bearer token, CSRF for session writes, 401 JSON otherwise, and the token CLI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api.models import ApiToken
from api.tokens import create_token, hash_token
from app.audit import AuditLog
from app.timeutil import utcnow
from tests.api.helpers import ApiClient


def test_openapi_document_is_public(anonymous):
    response = anonymous.get("/openapi.json", expect=200)
    assert response.get_json()["openapi"].startswith("3.")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/events"),
        ("GET", "/events/1"),
        ("GET", "/events/1/shifts"),
        ("GET", "/shifts/1"),
        ("GET", "/me/assignments"),
        ("POST", "/events"),
        ("PATCH", "/events/1"),
        ("POST", "/shifts/1/signup"),
        ("POST", "/shifts/1/assignments"),
        ("DELETE", "/assignments/1"),
        ("POST", "/assignments/1/cancel"),
    ],
)
def test_without_credentials_every_endpoint_answers_401_json(anonymous, method, path):
    response = anonymous.request(method, path, json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Location" not in response.headers  # never a redirect to the login page


def test_session_login_reads_the_api(session_api, volunteer, make_event):
    event = make_event()
    api = session_api(volunteer)
    body = api.get("/events", expect=200).get_json()
    assert [item["id"] for item in body["items"]] == [event.id]


def test_bearer_token_authenticates_and_records_last_use(token_api, volunteer, make_event, db):
    make_event()
    api = token_api(volunteer)
    api.get("/events", expect=200)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == volunteer.id))
    db.session.refresh(token)
    assert token.last_used_at is not None
    assert token.token_hash == hash_token(api.token) and api.token not in token.token_hash


def test_a_token_call_has_no_session(app, document, volunteer, make_event, db):
    """A token's API call (a scanner: no cookie) neither reads nor writes a session: no cookie set, no
    Vary: Cookie; its language is ?lang= or Accept-Language, for that call only."""
    make_event()
    _token, secret = create_token(volunteer, "scanner", by=None, now=utcnow())
    db.session.commit()
    api = ApiClient(app.test_client(), document, token=secret)
    english = api.get("/events/2147483647?lang=en", headers={"Accept-Language": "zh-CN"}, expect=404)
    assert english.get_json()["error"]["message"] == "No such event."
    chinese = api.get("/events/2147483647", headers={"Accept-Language": "zh-CN,zh;q=0.9"}, expect=404)
    assert chinese.get_json()["error"]["message"] == "没有这个活动。"  # ?lang= was not remembered
    asked = api.get("/events/2147483647", headers={"Accept-Language": "en-US,en;q=0.8"}, expect=404)
    assert asked.get_json()["error"]["message"] == "No such event."
    for answer in (english, chinese, asked, api.get("/events", expect=200)):
        assert "Set-Cookie" not in answer.headers
        assert "Cookie" not in answer.headers.get("Vary", "")


@pytest.mark.parametrize(
    "header", ["Bearer dgv_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "dgv_x", "Bearer " + "x" * 5000]
)
def test_invalid_authorization_answers_401(anonymous, header):
    response = anonymous.get("/events", headers={"Authorization": header}, expect=401)
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_a_bad_token_is_not_rescued_by_a_session(session_api, volunteer):
    api = session_api(volunteer)
    api.get("/events", headers={"Authorization": "Bearer dgv_wrong"}, expect=401)


def test_revoked_token_fails(token_api, volunteer, db, app):
    from api.tokens import revoke_token
    from app.timeutil import utcnow

    api = token_api(volunteer)
    api.get("/me/assignments", expect=200)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == volunteer.id))
    revoke_token(token, by=volunteer, now=utcnow())
    db.session.commit()
    assert api.get("/me/assignments", expect=401).get_json()["error"]["code"] == "invalid_token"


def test_token_of_a_disabled_account_fails(token_api, volunteer, db):
    api = token_api(volunteer)
    volunteer.is_disabled = True
    db.session.commit()
    api.get("/events", expect=401)


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_tokens(app, volunteer, document, make_client, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "create-token", "--mobile", volunteer.mobile, "--name", "roster sync"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"(dgv_\S+)", result.output).group(1)
    api = ApiClient(make_client(), document, token=secret)
    api.get("/me/assignments", expect=200)

    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == volunteer.id))
    listing = runner.invoke(args=["api", "list-tokens", "--mobile", volunteer.mobile])
    assert "roster sync" in listing.output and "active" in listing.output and secret not in listing.output

    revoked = runner.invoke(args=["api", "revoke-token", "--id", str(token.id)])
    assert revoked.exit_code == 0, revoked.output
    api.get("/me/assignments", expect=401)
    again = runner.invoke(args=["api", "revoke-token", "--id", str(token.id)])
    assert again.exit_code != 0 and "already revoked" in again.output
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "ApiToken")).all()
    assert sorted(actions) == ["api_token.create", "api_token.revoke"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["create-token", "--mobile", "13000000000", "--name", "x"], "no account"),
        (["revoke-token", "--id", "999999"], "no token"),
    ],
)
def test_cli_refuses_unknown_accounts_and_tokens(app, args, message, orgs):
    result = app.test_cli_runner().invoke(args=["api", *args])
    assert result.exit_code != 0 and message in result.output


def test_cli_refuses_a_blank_token_name(app, volunteer):
    result = app.test_cli_runner().invoke(args=["api", "create-token", "--mobile", volunteer.mobile, "--name", "   "])
    assert result.exit_code != 0
