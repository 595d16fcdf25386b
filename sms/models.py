"""What the SMS area stores: every message sent or attempted, the verification codes (hashed), and the send locks.

No table holds a mobile number in clear: a message keeps it masked (138****5678) and a keyed hash; a code keeps the
keyed hash (sms/numbers.py). The full text of a message is kept only for the console backend (the development
outbox); a provider's message is its template and the code, which must not be stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow

SENT = "sent"
FAILED = "failed"


class SmsMessage(Model):
    """One message handed to the backend: sent, or failed with the provider's error code."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_mobile_created", "mobile_hash", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 138****5678
    mobile_masked: Mapped[str] = mapped_column(String(20))
    #: the keyed hash of the number (sms/numbers.py mobile_key): every message to one number, without the number
    mobile_hash: Mapped[str] = mapped_column(String(64))
    #: an sms.purposes.SmsPurpose value
    purpose: Mapped[str] = mapped_column(String(30))
    #: "console", "aliyun" or "tencent"
    backend: Mapped[str] = mapped_column(String(20))
    #: "sent" or "failed"
    status: Mapped[str] = mapped_column(String(10))
    #: the provider's id of the message (Alibaba Cloud BizId, Tencent Cloud SerialNo)
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    #: the provider's error code of a failed send ("isv.BUSINESS_LIMIT_CONTROL", "timeout", ...)
    error_code: Mapped[str | None] = mapped_column(String(100))
    #: a failed send's kind: "throttled", "rejected_number", "unavailable" or "error" (sms.backends.base.Failure)
    failure: Mapped[str | None] = mapped_column(String(20))
    #: requests made, retries included
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    #: the whole text: console backend only
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def sent(self) -> bool:
        """True when the backend accepted the message."""
        return self.status == SENT


class VerificationCode(Model):
    """A six-digit code sent to a number for one purpose; only its keyed hash is stored."""

    __tablename__ = "sms_verification_codes"
    __table_args__ = (
        Index("ix_sms_verification_codes_mobile_purpose", "mobile_hash", "purpose", "created_at"),
        Index("ix_sms_verification_codes_mobile_created", "mobile_hash", "created_at"),
        Index("ix_sms_verification_codes_address_created", "ip_address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the keyed hash of the number (sms/numbers.py mobile_key)
    mobile_hash: Mapped[str] = mapped_column(String(64))
    #: an sms.purposes.SmsPurpose value (a code purpose)
    purpose: Mapped[str] = mapped_column(String(30))
    #: HMAC-SHA256 of number, purpose and code with SECRET_KEY (sms/numbers.py code_hash); never the code itself
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0)
    #: when the right code was given (it cannot be given again)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the last allowed wrong try burned the code
    burned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the address that asked for the code (the per-address daily limit)
    ip_address: Mapped[str | None] = mapped_column(String(45))


class SmsSendLock(Model):
    """One row per number (and per client address) that asked for a code: sends to it take its row lock in turn,
    so two requests at once cannot both pass the resend wait and the daily limits (sms/codes.py)."""

    __tablename__ = "sms_send_locks"

    #: "mobile:<keyed hash>" or "address:<keyed hash>"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)
