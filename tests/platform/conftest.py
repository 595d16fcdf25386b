"""Platform test helpers: real CSRF tokens read from rendered forms, and the real production config."""

from __future__ import annotations

import base64
import re
import secrets
from contextlib import contextmanager

import pytest

from app import dispose_engines
from composition import create_app

_TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token_of(client, path: str) -> str:
    """GET `path` and return the CSRF token of its first form."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def real_keys() -> dict:
    """Secrets of the shape production requires."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ID_NUMBER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


@contextmanager
def running(application):
    """An app context for an app built inside a test; its session and connections are closed after."""
    from app.extensions import db

    with application.app_context():
        try:
            yield application
        finally:
            db.session.remove()
            dispose_engines(application)


@pytest.fixture
def production_app(database_url):
    """The app under the production configuration with real keys, on the test database."""
    with running(create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, **real_keys()})) as application:
        yield application
