"""Time: stored as UTC, shown in Asia/Shanghai.

Services receive `now` from their caller; only the edges (views, jobs, CLI)
call `utcnow()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@overload
def to_local(value: datetime) -> datetime: ...
@overload
def to_local(value: None) -> None: ...
@overload
def to_local(value: datetime | None) -> datetime | None: ...
def to_local(value: datetime | None) -> datetime | None:
    """A stored (UTC) time in Asia/Shanghai."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def local_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai."""
    return to_local(now or utcnow()).date()


def to_stored(value: datetime) -> datetime:
    """An aware time as the database stores it: naive UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None)


def from_stored(value: datetime) -> datetime:
    """A stored (naive UTC) time, aware."""
    return value.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC on every database and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else to_stored(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_stored(value)


def local_day_range(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the Asia/Shanghai calendar day starts and ends."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)
