"""Fixtures for the check-in rules. The event, shift, assignment, token makers and row readers are in
tests/checkin/conftest.py; here: services called outside a request answer in English."""

from __future__ import annotations

import pytest
from flask_babel import force_locale


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield
