"""The console backend: the message goes to the log, and its text to the outbox (/dev/sms); nothing leaves the host."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from sms.backends.base import SendResult, SmsTemplate
from sms.numbers import mask_mobile

log = logging.getLogger(__name__)


class ConsoleBackend:
    """Development and tests: every message "sent", written to the log with its whole text."""

    name = "console"
    keeps_text = True

    def send(self, mobile: str, template: SmsTemplate, params: Mapping[str, str]) -> SendResult:
        """Log the message; always succeeds."""
        log.info("SMS (console) to %s [%s]: %s", mask_mobile(mobile), template.purpose, template.text)
        return SendResult.success(f"console-{secrets.token_hex(8)}")
