"""Error pages: HTML in the app's style for pages, JSON for /api/ and for callers that ask for JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from volunteers.organizations.models import Organization, OrgKind

JSON = {"Accept": "application/json"}


def add_failing_routes(application) -> None:
    """Test-only views that write a row and then fail unexpectedly."""

    def explode():
        _db.session.add(Organization(name="不应保存的组织", short_name="x", kind=OrgKind.TEAM.value, path="/x/"))
        _db.session.flush()
        raise RuntimeError("secret internal detail")

    application.add_url_rule("/test-only/explode", "test_explode", explode)
    application.add_url_rule("/api/test-only/explode", "test_api_explode", explode)


def assert_styled_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<header class="topbar">' in page  # the site's layout, not a bare server page
    assert f'<p class="status-code">{status}</p>' in page
    assert title in page
    assert response.headers["Content-Security-Policy"]
    return page


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_not_found_page(client):
    assert_styled_page(client.get("/no-such-page"), 404, "The page was not found")


def test_not_found_as_json(client):
    assert_json_error(client.get("/api/no-such-thing"), 404, "not_found")
    assert_json_error(client.get("/no-such-page", headers=JSON), 404, "not_found")


def test_forbidden_page_and_json(client, make_user, login):
    owner, other = make_user(), make_user()
    login(other)
    assert_styled_page(client.get(f"/volunteers/{owner.id}"), 403, "You do not have permission to do that")
    assert_json_error(client.get(f"/volunteers/{owner.id}", headers=JSON), 403, "forbidden")


def test_method_not_allowed_page_and_json(client):
    response = client.get("/logout")
    assert_styled_page(response, 405, "That action is not allowed here")
    assert "POST" in response.headers["Allow"]
    assert_json_error(client.get("/logout", headers=JSON), 405, "method_not_allowed")


def test_unexpected_exception_answers_a_styled_500_and_rolls_back(app, client):
    add_failing_routes(app)
    page = assert_styled_page(client.get("/test-only/explode"), 500, "Something went wrong on our side")
    assert "secret internal detail" not in page and "Traceback" not in page
    assert_json_error(client.get("/api/test-only/explode"), 500, "internal_error")
    assert _db.session.scalar(select(Organization).where(Organization.name == "不应保存的组织")) is None


def test_production_shows_no_debug_page(production_app):
    add_failing_routes(production_app)
    response = production_app.test_client().get("/test-only/explode?lang=en")
    page = assert_styled_page(response, 500, "Something went wrong on our side")
    assert "secret internal detail" not in page and "Traceback" not in page and "Werkzeug" not in page


@pytest.mark.parametrize("path", ["/no-such-page", "/logout"])
def test_error_pages_are_chinese_by_default(app, path):
    page = app.test_client().get(path).get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    assert "返回首页" in page
