"""The development outbox (/dev/sms): the latest messages with their whole text, so a developer can read a code.

Registered only with the console backend in development or testing (sms/area.py); 404 everywhere else.
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from sqlalchemy import select

from app.extensions import db
from sms.blueprint import bp
from sms.gateway import outbox_enabled
from sms.models import SmsMessage
from sms.purposes import SmsPurpose

OUTBOX_SIZE = 50


@bp.get("/dev/sms")
def outbox():
    """The latest messages the console backend wrote, newest first."""
    if not outbox_enabled(current_app):
        abort(404)
    messages = db.session.scalars(
        select(SmsMessage)
        .where(SmsMessage.backend == "console")
        .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc())
        .limit(OUTBOX_SIZE)
    ).all()
    labels = {purpose.value: purpose.label for purpose in SmsPurpose}
    return render_template("sms/outbox.html", messages=messages, labels=labels)
