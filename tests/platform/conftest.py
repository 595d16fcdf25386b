"""Platform test fixtures: the app under the real production config. (Real CSRF tokens read from rendered forms,
real keys and `running`: tests/support.py.)"""

from __future__ import annotations

import pytest

from composition import create_app
from tests.support import real_keys, running


@pytest.fixture
def production_app(database_url):
    """The app under the production configuration with real keys, on the test database."""
    with running(create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, **real_keys()})) as application:
        yield application
