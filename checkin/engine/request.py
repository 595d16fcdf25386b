"""What the engine is asked: one scan (ScanRequest), and the settings the rules read (Rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from checkin.engine.geo import Position


@dataclass(frozen=True)
class ScanRequest:
    """One scan to apply: who (the volunteer's id), where (the event's id), when, how, from which device.

    Built once by the scan services from what was scanned (a parsed token, a mobile number, a queued scan), after
    the caller's permission was checked; the engine trusts its fields' shapes and checks everything else.
    """

    method: str  # checkin.models.ScanMethod value
    event_id: int | None
    volunteer_id: int | None
    at: datetime  # the scan's time: now, or an offline scan's own time
    now: datetime
    by_id: int  # who scanned: the coordinator, or the volunteer at a kiosk
    device_id: str | None = None
    client_scan_id: str | None = None
    offline: bool = False
    position: Position | None = None
    shift_id: int | None = None  # a shift's kiosk: only this shift
    token_digest: str | None = None  # a badge token's signature (a token used at one device is refused at another)
    note: str = ""
    check_geofence: bool = True  # False: a coordinator's manual check-in
    #: the volunteer's row is already locked by the caller (an offline batch locks all of its volunteers first)
    locked: bool = False
    #: the scan is its caller's whole transaction, committed at once: its write needs no savepoint, and a unique
    #: index refusing it rolls the transaction back (checkin.engine.apply)
    alone: bool = False
    #: one of a batch that is rolled back whole when a unique index refuses a write (checkin.scanning.offline)
    batched: bool = False

    @property
    def device_key(self) -> str:
        """The device a scan came from: its id, or the scanning person's for a device without one."""
        return self.device_id or f"by:{self.by_id}"


@dataclass(frozen=True)
class Rules:
    """The settings the rules read, taken from the app's configuration once per scan."""

    repeat: timedelta  # CHECKIN_REPEAT_SECONDS: the shortest gap between a check-in and its check-out
    accuracy_allowance_m: float  # CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M
    clock_skew: timedelta = timedelta(seconds=120)  # CHECKIN_CLOCK_SKEW_SECONDS: how far an offline scan may lie ahead
    offline_max_age: timedelta = timedelta(hours=24)  # CHECKIN_OFFLINE_MAX_AGE_HOURS

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Rules:
        return cls(
            repeat=timedelta(seconds=int(config["CHECKIN_REPEAT_SECONDS"])),
            accuracy_allowance_m=float(config.get("CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M", 0)),
            clock_skew=timedelta(seconds=int(config.get("CHECKIN_CLOCK_SKEW_SECONDS", 120))),
            offline_max_age=timedelta(hours=int(config.get("CHECKIN_OFFLINE_MAX_AGE_HOURS", 24))),
        )
