"""Fixtures of the SMS tests: a fixed local morning, the code a message carried, the fake providers."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from sms.models import SmsMessage
from tests.sms.fakes import FakeProvider

MOBILE = "13800138000"
OTHER_MOBILE = "13912345678"


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def morning() -> datetime:
    """09:00 in Dongguan on a fixed day (aware UTC): the daily limits count from local midnight."""
    return datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(ZoneInfo("UTC"))


def code_in(text: str) -> str:
    [code] = re.findall(r"(?<!\d)\d{6}(?!\d)", text)
    return code


@pytest.fixture
def last_code():
    """last_code() -> the code in the latest message the console backend wrote (what the phone would show)."""

    def read() -> str:
        message = db.session.scalars(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(1)).one()
        assert message.text, "the console backend keeps the text"
        return code_in(message.text)

    return read


@pytest.fixture
def fake_provider():
    """A fake SMS provider on 127.0.0.1 (tests/sms/fakes.py), stopped after the test."""
    with FakeProvider() as provider:
        yield provider
