"""Email copies of notifications: logged without SMTP, sent through SMTP when configured, never twice."""

from __future__ import annotations

import email
import logging
import socket
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from events import tasks
from notifications.models import Notification
from notifications.services import MESSAGES, notify


@pytest.fixture
def inbox_user(make_user):
    return make_user(name="李志愿", email="li@example.cn", locale="en")


def _notify(db, user, now, kind="reminder_2h", **extra):
    params = {
        "event": "漫博会",
        "position": "引导",
        "starts_at": (now + timedelta(hours=2)).isoformat(),
        "place": "1号馆",
    }
    notify(user.id, kind, params=params, link="/events/3", now=now, **extra)
    db.session.commit()


def _emailed(db) -> dict[int, object]:
    db.session.expire_all()
    return {n.id: n.emailed_at for n in db.session.scalars(select(Notification))}


def test_logged_when_smtp_is_not_configured(db, inbox_user, now, caplog):
    caplog.set_level(logging.INFO, logger="notifications.email")
    _notify(db, inbox_user, now)

    result = tasks.send_email_outbox(now)

    assert result == {"sent": 1, "failed": 0}
    logged = [r.getMessage() for r in caplog.records if r.name == "notifications.email"]
    assert len(logged) == 1
    assert "SMTP not configured" in logged[0] and "to=li@example.cn" in logged[0]
    assert "Your shift starts soon" in logged[0] and "漫博会 · 引导" in logged[0]
    assert list(_emailed(db).values()) == [now]


def test_email_is_in_the_recipients_language(db, make_user, now, caplog):
    caplog.set_level(logging.INFO, logger="notifications.email")
    chinese = make_user(email="zh@example.cn", locale="zh")
    _notify(db, chinese, now)
    with force_locale("zh"):
        expected_subject = str(MESSAGES["reminder_2h"][0])

    tasks.send_email_outbox(now)

    logged = [r.getMessage() for r in caplog.records if r.name == "notifications.email"]
    assert f"subject={expected_subject}\n" in logged[0]


def test_each_notification_is_emailed_once(db, inbox_user, now, caplog):
    caplog.set_level(logging.INFO, logger="notifications.email")
    _notify(db, inbox_user, now)

    tasks.send_email_outbox(now)
    tasks.send_email_outbox(now, force=True)
    tasks.send_email_outbox(now + timedelta(minutes=1))

    assert len([r for r in caplog.records if r.name == "notifications.email"]) == 1


def test_only_unread_recent_notifications_of_users_with_an_address(db, make_user, inbox_user, now, caplog):
    caplog.set_level(logging.INFO, logger="notifications.email")
    no_address = make_user()
    disabled = make_user(email="off@example.cn", is_disabled=True)
    _notify(db, no_address, now)
    _notify(db, disabled, now)
    _notify(db, inbox_user, now - timedelta(days=3))  # old news
    _notify(db, inbox_user, now, kind="assigned")
    read = db.session.scalars(select(Notification).where(Notification.kind == "assigned")).one()
    read.read_at = now
    db.session.commit()

    assert tasks.send_email_outbox(now) == {"sent": 0, "failed": 0}
    assert [r for r in caplog.records if r.name == "notifications.email"] == []


def test_sent_through_smtp_in_the_users_language(app, db, make_user, now, smtp_sink):
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_sink.server_address[1],
        MAIL_USE_TLS=False,
        MAIL_DEFAULT_SENDER="noreply@zyz.example.cn",
        PUBLIC_BASE_URL="https://zyz.example.cn",
    )
    english = make_user(email="en@example.cn", locale="en")
    _notify(db, english, now)

    assert tasks.send_email_outbox(now) == {"sent": 1, "failed": 0}

    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received["to"] == ["en@example.cn"]
    message = email.message_from_bytes(received["data"], policy=default_policy)
    assert message["Subject"] == "Your shift starts soon"
    assert message["From"] == "noreply@zyz.example.cn"
    body = message.get_content()
    assert "漫博会 · 引导" in body and "https://zyz.example.cn/events/3" in body


def test_unreachable_smtp_server_leaves_the_email_for_the_next_pass(app, db, inbox_user, now, smtp_sink):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=5)
    _notify(db, inbox_user, now)

    assert tasks.send_email_outbox(now) == {"sent": 0, "failed": 1}
    assert list(_emailed(db).values()) == [None]

    app.config.update(MAIL_PORT=smtp_sink.server_address[1])
    assert tasks.send_email_outbox(now + timedelta(minutes=1)) == {"sent": 1, "failed": 0}
    assert len(smtp_sink.messages) == 1
