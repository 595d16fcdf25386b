"""Fixtures for the check-in pages. The event, shift, assignment and row readers are in
tests/checkin/conftest.py; here: the pages' post (路口引导), an administrator, logged-in clients and the
visible text of a page."""

from __future__ import annotations

import re

import pytest

from app.permissions import Role


@pytest.fixture
def position(make_position, event):
    """The post of the shift under way: 路口引导."""
    return make_position(event, name="路口引导")


@pytest.fixture
def city_admin(make_user, orgs):
    """An administrator of the city committee: the whole tree."""
    return make_user(name="王管理", organization=orgs["city"], role=Role.ADMIN, role_org=orgs["city"])


@pytest.fixture
def as_user(make_client, login):
    """as_user(user) -> a fresh English client logged in as that user."""
    return lambda user: login(user, target=make_client())


def text_of(response) -> str:
    """The page's visible text, tags removed and whitespace collapsed (for assertions on sentences)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&amp;", "&").strip()


@pytest.fixture
def page_text():
    """page_text(response) -> the visible text of an HTML response."""
    return text_of
