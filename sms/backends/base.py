"""What every backend is: `send(mobile, template, params) -> SendResult`, never raising for a provider's failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Failure(str, Enum):
    """Why a send failed, as far as the user's next step is concerned."""

    #: the provider's limits for this number or account (Alibaba Cloud isv.BUSINESS_LIMIT_CONTROL, Tencent LimitExceeded.*)
    THROTTLED = "throttled"
    #: the provider refused the number (not a mobile, blacklisted, unsubscribed)
    REJECTED_NUMBER = "rejected_number"
    #: no answer in time, the connection refused, or the provider's own internal error: worth trying again
    UNAVAILABLE = "unavailable"
    #: anything else (credentials, sign name or template not approved, ...): the operators must look
    ERROR = "error"


@dataclass(frozen=True)
class SmsTemplate:
    """What to send: the purpose, the provider's template id for it, the sign name and the text (for the console)."""

    purpose: str
    template_id: str
    sign_name: str
    text: str


@dataclass(frozen=True)
class SendResult:
    """One request's outcome. `transient` failures are retried (sms/gateway.py)."""

    ok: bool
    message_id: str | None = None
    error_code: str | None = None
    failure: Failure | None = None
    transient: bool = False
    #: the provider's own words, for the log
    detail: str = ""

    @classmethod
    def success(cls, message_id: str | None) -> SendResult:
        return cls(ok=True, message_id=message_id)

    @classmethod
    def failed(cls, failure: Failure, error_code: str, detail: str = "") -> SendResult:
        return cls(
            ok=False,
            error_code=error_code[:100],
            failure=failure,
            transient=failure is Failure.UNAVAILABLE,
            detail=detail,
        )


class SmsBackend(Protocol):
    """A way of sending one message to one mainland number (11 digits, normalized)."""

    @property
    def name(self) -> str:
        """ "console", "aliyun", "tencent": stored on each SmsMessage."""
        ...

    @property
    def keeps_text(self) -> bool:
        """True when the message's whole text is kept (the console backend's outbox)."""
        ...

    def send(self, mobile: str, template: SmsTemplate, params: Mapping[str, str]) -> SendResult:
        """Send once; a provider's failure is a failed SendResult, never an exception."""
        ...


def http_endpoint(endpoint: str) -> tuple[str, str]:
    """An endpoint setting as (protocol, host[:port]): "http://127.0.0.1:8080" → ("http", "127.0.0.1:8080");
    a bare host is spoken to over https."""
    for protocol in ("http", "https"):
        prefix = f"{protocol}://"
        if endpoint.startswith(prefix):
            return protocol, endpoint[len(prefix) :].rstrip("/")
    return "https", endpoint.rstrip("/")
