"""The SMS gateway: the backend the configuration chooses, retries, and the record of every send.

`deliver(mobile, purpose, params, now=...)` is the one way out: it sends through the configured backend
(SMS_BACKEND: console, aliyun, tencent; built once per app by `configure`), retries a transient failure up to
SMS_RETRIES more times, records an `SmsMessage` (number masked; the text only for the console backend), logs,
and returns the record. It never raises for a provider's failure: the caller reads `message.sent` and
`failure_message(message)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from flask import Flask, current_app
from flask_babel import gettext as _

from app.extensions import db
from sms.backends.aliyun import AliyunBackend
from sms.backends.base import Failure, SendResult, SmsBackend, SmsTemplate
from sms.backends.console import ConsoleBackend
from sms.backends.tencent import TencentBackend
from sms.models import FAILED, SENT, SmsMessage
from sms.numbers import mask_mobile, mobile_key
from sms.purposes import SmsPurpose, message_text

log = logging.getLogger(__name__)

BACKENDS = ("console", "aliyun", "tencent")
_REQUIRED = {
    "aliyun": ("SMS_ALIYUN_ACCESS_KEY_ID", "SMS_ALIYUN_ACCESS_KEY_SECRET", "SMS_ALIYUN_ENDPOINT"),
    "tencent": ("SMS_TENCENT_SECRET_ID", "SMS_TENCENT_SECRET_KEY", "SMS_TENCENT_SDK_APP_ID", "SMS_TENCENT_ENDPOINT"),
}


def config_problems(config: Mapping) -> list[str]:
    """What is wrong with the SMS configuration; empty when the chosen backend can send."""
    backend = config.get("SMS_BACKEND", "console")
    if backend not in BACKENDS:
        return [f"SMS_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}"]
    problems = []
    if backend == "console":
        allowed = str(config.get("SMS_CONSOLE_IN_PRODUCTION", "")).strip().lower() in {"1", "true", "yes", "on"}
        if config.get("ENV_NAME") == "production" and not allowed:
            problems.append(
                "SMS_BACKEND=console writes codes only to the log: set SMS_BACKEND=aliyun or tencent "
                "(or SMS_CONSOLE_IN_PRODUCTION=1 for a deployment without SMS)"
            )
        return problems
    needed = [*_REQUIRED[backend], "SMS_SIGN_NAME", *(purpose.config_key for purpose in SmsPurpose)]
    missing = [name for name in needed if not config.get(name)]
    if missing:
        problems.append(f"SMS_BACKEND={backend} needs " + ", ".join(missing))
    if float(config.get("SMS_TIMEOUT_SECONDS", 0)) <= 0 or int(config.get("SMS_RETRIES", 0)) < 0:
        problems.append("SMS_TIMEOUT_SECONDS must be positive and SMS_RETRIES not negative")
    return problems


def make_backend(config: Mapping) -> SmsBackend:
    """The backend SMS_BACKEND names, from the configuration."""
    backend = config.get("SMS_BACKEND", "console")
    timeout = float(config["SMS_TIMEOUT_SECONDS"])
    if backend == "aliyun":
        return AliyunBackend(
            access_key_id=config["SMS_ALIYUN_ACCESS_KEY_ID"],
            access_key_secret=config["SMS_ALIYUN_ACCESS_KEY_SECRET"],
            region=config["SMS_ALIYUN_REGION"],
            endpoint=config["SMS_ALIYUN_ENDPOINT"],
            timeout_seconds=timeout,
        )
    if backend == "tencent":
        return TencentBackend(
            secret_id=config["SMS_TENCENT_SECRET_ID"],
            secret_key=config["SMS_TENCENT_SECRET_KEY"],
            sdk_app_id=str(config["SMS_TENCENT_SDK_APP_ID"]),
            region=config["SMS_TENCENT_REGION"],
            endpoint=config["SMS_TENCENT_ENDPOINT"],
            timeout_seconds=timeout,
        )
    return ConsoleBackend()


def configure(app: Flask) -> None:
    """Check the SMS configuration and build the backend; refuse to start when it cannot send (any environment)."""
    problems = config_problems(app.config)
    if problems:
        raise RuntimeError("Refusing to start: " + "; ".join(problems))
    app.extensions["sms_backend"] = make_backend(app.config)


def current_backend() -> SmsBackend:
    """The app's backend (built by `configure` at start-up)."""
    backend: SmsBackend = current_app.extensions["sms_backend"]
    return backend


def outbox_enabled(app: Flask) -> bool:
    """The /dev/sms outbox exists only with the console backend, in development or testing."""
    return app.config.get("SMS_BACKEND") == "console" and app.config.get("ENV_NAME") in ("development", "testing")


def _template(purpose: SmsPurpose, params: Mapping[str, str]) -> SmsTemplate:
    config = current_app.config
    sign_name = config.get("SMS_SIGN_NAME") or _("Dongguan Youth Volunteers")
    minutes = max(1, int(config["SMS_CODE_TTL_SECONDS"]) // 60)
    text = f"【{sign_name}】" + message_text(purpose, dict(params), minutes=minutes)
    return SmsTemplate(
        purpose=purpose.value, template_id=str(config.get(purpose.config_key) or ""), sign_name=sign_name, text=text
    )


def _send_with_retries(
    backend: SmsBackend, mobile: str, template: SmsTemplate, params: Mapping[str, str]
) -> tuple[SendResult, int]:
    retries = max(0, int(current_app.config["SMS_RETRIES"]))
    attempts = 0
    while True:
        attempts += 1
        result: SendResult = backend.send(mobile, template, params)
        if result.ok or not result.transient or attempts > retries:
            return result, attempts
        log.warning(
            "SMS to %s: %s (%s), trying again", mask_mobile(mobile), result.error_code, result.detail or "no detail"
        )


def deliver(mobile: str, purpose: SmsPurpose, params: Mapping[str, str], *, now: datetime) -> SmsMessage:
    """Send one message to a normalized mainland number and record it (flushed); a failure is recorded, not raised."""
    backend = current_backend()
    template = _template(purpose, params)
    result, attempts = _send_with_retries(backend, mobile, template, params)
    message = SmsMessage(
        mobile_masked=mask_mobile(mobile),
        mobile_hash=mobile_key(mobile),
        purpose=purpose.value,
        backend=backend.name,
        status=SENT if result.ok else FAILED,
        provider_message_id=result.message_id,
        error_code=None if result.ok else result.error_code,
        failure=result.failure.value if result.failure else None,
        attempts=attempts,
        text=template.text if backend.keeps_text else None,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    if result.ok:
        log.info("SMS %s to %s sent by %s (%s)", purpose.value, message.mobile_masked, backend.name, result.message_id)
    else:
        log.error(
            "SMS %s to %s failed at %s after %d attempt(s): %s %s",
            purpose.value,
            message.mobile_masked,
            backend.name,
            attempts,
            result.error_code,
            result.detail,
        )
    return message


def failure_message(message: SmsMessage) -> str:
    """What a user reads when a message could not be sent."""
    failure = Failure(message.failure) if message.failure in {kind.value for kind in Failure} else Failure.ERROR
    if failure is Failure.THROTTLED:
        return _("Too many messages have been sent to this number. Please try again later.")
    if failure is Failure.REJECTED_NUMBER:
        return _("A text message cannot be sent to this number. Please check the number.")
    if failure is Failure.UNAVAILABLE:
        return _("The text message service is not answering. Please try again in a few minutes.")
    return _("The text message could not be sent. Please try again later.")
