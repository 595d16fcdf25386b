"""Fixtures for accounts, registration, access and roles: form data, row counts, a cast of people."""

from __future__ import annotations

import itertools
from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from app.audit import AuditLog
from app.permissions import Role
from app.security import demo_id_number
from volunteers.accounts.models import User


class _FieldBlock(HTMLParser):
    """Collects the text inside <div id="field-NAME"> ... </div>, nested divs included."""

    def __init__(self, field_id: str):
        super().__init__()
        self.field_id = field_id
        self.depth = 0
        self.found = False
        self.parts: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            if tag == "div":
                self.depth += 1
            return
        if tag == "div" and dict(attrs).get("id") == self.field_id:
            self.depth, self.found = 1, True
            self.classes = (dict(attrs).get("class") or "").split()

    def handle_endtag(self, tag):
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def field_block(html: str, name: str) -> tuple[list[str], str]:
    """(CSS classes, text) of the form field block `div id="field-<name>"`: label, hint and errors."""
    parser = _FieldBlock(f"field-{name}")
    parser.feed(html)
    assert parser.found, f"no field block for {name}"
    return parser.classes, " ".join(" ".join(parser.parts).split())


@pytest.fixture
def field_error():
    """field_error(html, name) -> the text of that field's block, asserting it is marked as an error."""

    def read(html: str, name: str) -> str:
        classes, text = field_block(html, name)
        assert "has-error" in classes, f"field {name} is not marked as an error: {text}"
        return text

    return read


@pytest.fixture
def count_rows(db):
    """count_rows() -> (users, audit entries): to show that a refused request wrote nothing."""

    def count():
        db.session.expire_all()
        return (db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(AuditLog.id))))

    return count


_sequence = itertools.count(500)


@pytest.fixture
def new_id_number():
    """new_id_number(birth=date(2001, 2, 3)) -> a valid resident ID number string nobody holds yet."""

    def make(birth: date = date(2001, 2, 3)) -> str:
        return demo_id_number(birth, next(_sequence), region="441900").value

    return make


@pytest.fixture
def registration_data(orgs, new_id_number):
    """registration_data(**overrides) -> a valid registration form as a dict."""

    def make(**overrides) -> dict:
        data = {
            "name": "林小雨",
            "mobile": "13612345678",
            "id_number": new_id_number(),
            "password": "Sunflower-2026",
            "password_confirm": "Sunflower-2026",
            "political_status": "共青团员",
            "organization_id": str(orgs["nancheng_team"].id),
            "emergency_contact_name": "林大山",
            "emergency_contact_mobile": "13712345678",
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    return make


@pytest.fixture
def people(make_user, orgs):
    """One of each: volunteers in 南城 and 东城, staff of 南城, a city administrator."""
    return {
        "nancheng_volunteer": make_user(organization=orgs["nancheng_team"], name="南城志愿者"),
        "nancheng_volunteer2": make_user(organization=orgs["nancheng_branch"], name="南城志愿者二"),
        "dongcheng_volunteer": make_user(organization=orgs["dongcheng_team"], name="东城志愿者"),
        "coordinator": make_user(organization=orgs["nancheng"], role=Role.COORDINATOR, name="南城负责人"),
        "reviewer": make_user(organization=orgs["nancheng"], role=Role.REVIEWER, name="南城审核员"),
        "admin": make_user(organization=orgs["nancheng"], role=Role.ADMIN, name="南城管理员"),
        "city_admin": make_user(organization=orgs["city"], role=Role.ADMIN, name="市管理员"),
        "dongcheng_admin": make_user(organization=orgs["dongcheng"], role=Role.ADMIN, name="东城管理员"),
    }


@pytest.fixture
def login_as(login, make_client):
    """login_as(user) -> a fresh English client logged in as `user`."""
    return lambda user: login(user, target=make_client())
