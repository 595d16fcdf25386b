"""Small helpers shared by the tests of every folder (not a test module: import from it freely).

- ``PASSWORD``: the password of every account tests/factories.py makes.
- ``is_postgres()``: the suite runs on PostgreSQL (TEST_DATABASE_URL), not on SQLite files.
- ``REDIS`` / ``redis_answers()``: the local Redis the rate-limit tests use, and whether it answers.
- ``real_keys()``: secrets of the shape production requires.
- ``running(app)``: an app context for an app built inside a test, closed (session, connections) after it.
- ``csrf_token_of(client, path)``: the CSRF token of the first form of a rendered page.
- Times: ``local(y, m, d, hour, minute)`` an Asia/Shanghai wall-clock time (``local_utc``: the same instant in
  UTC), ``local_time(now, days, hour, minute)`` that wall-clock time `days` after the local date of `now`, and
  ``local_input(value)`` a datetime-local form value.

Building rows (organizations, people, events, shifts, ...) is tests/factories.py's business.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from app.timeutil import LOCAL_TZ

PASSWORD = "Pass-word-123"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS = ("127.0.0.1", 6379)


def is_postgres() -> bool:
    return PG_URL.startswith("postgresql")


def redis_answers() -> bool:
    """The local Redis (REDIS) accepts connections."""
    try:
        with socket.create_connection(REDIS, timeout=2):
            return True
    except OSError:
        return False


def real_keys() -> dict:
    """Secrets of the shape production requires."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ID_NUMBER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # no SMS provider here: production's console backend allowed (sms/gateway.py config_problems)
        "SMS_CONSOLE_IN_PRODUCTION": "1",
    }


@contextmanager
def running(application):
    """An app context for an app built inside a test; its session and connections are closed after."""
    from app import dispose_engines
    from app.extensions import db

    with application.app_context():
        try:
            yield application
        finally:
            db.session.remove()
            dispose_engines(application)


_CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token_of(client, path: str) -> str:
    """GET `path` and return the CSRF token of its first form."""
    page = client.get(path).get_data(as_text=True)
    found = _CSRF_TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


# -- times -----------------------------------------------------------------------------------------------


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime of that Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def local_utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """The instant of that Asia/Shanghai wall-clock time, as aware UTC."""
    return local(year, month, day, hour, minute).astimezone(UTC)


def local_time(now: datetime, days: int = 1, hour: int = 9, minute: int = 0) -> datetime:
    """That Asia/Shanghai wall-clock time `days` days after the local date of `now`, in `now`'s time zone (UTC
    for the tests' `now`)."""
    day = now.astimezone(LOCAL_TZ).date() + timedelta(days=days)
    return local(day.year, day.month, day.day, hour, minute).astimezone(now.tzinfo)


def local_input(value: datetime) -> str:
    """An aware datetime as a datetime-local form value in Beijing time."""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def attendance_of(result):
    """The attendance row a scan's ScanResult names (read fresh), or None."""
    from app.extensions import db
    from checkin.models import Attendance

    if result.attendance_id is None:
        return None
    return db.session.get(Attendance, result.attendance_id, populate_existing=True)


def texted_code(mobile: str) -> str:
    """The six-digit code in the latest text the console backend wrote to `mobile` (what the phone shows)."""
    import re

    from sqlalchemy import select

    from app.extensions import db
    from sms.models import SmsMessage
    from sms.numbers import mask_mobile

    db.session.expire_all()
    message = db.session.scalars(
        select(SmsMessage)
        .where(SmsMessage.mobile_masked == mask_mobile(mobile))
        .order_by(SmsMessage.id.desc())
        .limit(1)
    ).one()
    assert message.text, "the console backend keeps the text"
    [code] = re.findall(r"(?<!\d)\d{6}(?!\d)", message.text)
    return code


def confirm_registration(client, mobile: str):
    """Enter the texted registration code as the registering browser does; the response of /register/confirm."""
    return client.post("/register/confirm", data={"code": texted_code(mobile)})
