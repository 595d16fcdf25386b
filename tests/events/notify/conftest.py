"""Fixtures for notifications, reminders, email, credentials, the calendar feed and the scheduler."""

from __future__ import annotations

import socketserver
import threading
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from events.models import Assignment, AssignmentStatus, Shift
from notifications.models import Notification
from tests import factories


@pytest.fixture
def app_overrides():
    """Short scheduler intervals so the lock and takeover tests finish quickly."""
    return {
        "SCHEDULER_RETRY_SECONDS": 0.2,
        "SCHEDULER_HEARTBEAT_SECONDS": 0.2,
        "SCHEDULER_LOCK_TIMEOUT_SECONDS": 60,
        "MAIL_SERVER": "",
    }


@pytest.fixture(autouse=True)
def english_messages(app):
    """Services called outside a request speak the default language (Chinese); these tests read English."""
    with force_locale("en"):
        yield


@pytest.fixture
def make_assignment(db):
    """make_assignment(user, shift, status="assigned") -> Assignment, committed (keeps the shift's count)."""

    def make(user, shift: Shift, status: str = AssignmentStatus.ASSIGNED.value) -> Assignment:
        return factories.assignment(shift, user, status=status)

    return make


@pytest.fixture
def shift_in(make_shift, now):
    """shift_in(hours, **fields) -> a shift (in a new published event) starting `hours` after `now`."""

    def make(hours: float, **fields) -> Shift:
        return make_shift(starts_at=now + timedelta(hours=hours), **fields)

    return make


@pytest.fixture
def notifications_of(db):
    """notifications_of(user, kind=None) -> that user's notifications, oldest first (fresh from the database)."""

    def read(user, kind: str | None = None) -> list[Notification]:
        db.session.expire_all()
        statement = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return list(db.session.scalars(statement))

    return read


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept messages: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 test-sink ESMTP")
        sender, recipients = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-test-sink")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 test-sink")
            elif verb == "MAIL":
                sender, recipients = command, []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line)
                self.server.messages.append({"from": sender, "to": recipients, "data": b"".join(lines)})
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1 that keeps what it receives in `.messages`."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()
