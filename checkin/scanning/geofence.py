"""Geofences that other areas define for their own shifts (e.g. a river patrol: distance to the segment's line).

An area registers a provider once, at import: `register_fence_provider(provider)`, where
`provider(shift, position) -> ShiftFence | None` answers None for shifts that are not its own.
The scan engine (checkin.scanning.engine) calls `check_in_outside` and `check_out_fence` (one line each):
a position beyond the limit (or no position at all) is refused or flagged, as the fence says.
The event's own circle (checkin.scanning.geo) is checked as before; this adds to it, it never relaxes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import current_app

from checkin.models import Attendance
from checkin.refusals import ScanRefused
from checkin.scanning.geo import Position
from events.models import Shift


class ShiftFence(NamedTuple):
    """How far a position lies from where a shift takes place, the limit, and "refuse" or "flag" beyond it."""

    distance_m: float | None  # None: no position was reported
    limit_m: float
    mode: str


FenceProvider = Callable[[Shift, Position | None], ShiftFence | None]
_providers: list[FenceProvider] = []
#: the event kinds whose shifts some provider may fence; None once a provider claims any kind
_fenced_kinds: set[str] | None = set()


def register_fence_provider(provider: FenceProvider, *, event_kinds: set[str] | None = None) -> None:
    """Add a provider (idempotent: registering the same function twice keeps one). `event_kinds`: the only
    kinds of event whose shifts it may fence (None: any), which lets a scan of other events skip the fences."""
    global _fenced_kinds
    if provider not in _providers:
        _providers.append(provider)
        _fenced_kinds = None if event_kinds is None or _fenced_kinds is None else _fenced_kinds | set(event_kinds)


def may_fence(event_kind: str) -> bool:
    """True when a registered provider may fence shifts of events of this kind."""
    return _fenced_kinds is None or event_kind in _fenced_kinds


def fence_for(shift: Shift, position: Position | None) -> ShiftFence | None:
    """The first registered provider's fence for this shift, or None when no provider claims it."""
    for provider in _providers:
        fence = provider(shift, position)
        if fence is not None:
            return fence
    return None


def is_outside(fence: ShiftFence, position: Position | None) -> bool:
    """True beyond the limit (a missing position is outside); the reported accuracy is forgiven up to the
    configured allowance, as for the event's own circle."""
    if fence.distance_m is None or position is None:
        return True
    forgiven = float(current_app.config.get("CHECKIN_GEOFENCE_ACCURACY_ALLOWANCE_M", 0))
    return fence.distance_m - min(position.accuracy_m or 0.0, forgiven) > fence.limit_m


def outside_shift_fence(shift: Shift, position: Position | None) -> bool:
    """False inside (or unfenced); True when outside a flagging fence; raises ScanRefused outside a refusing one."""
    fence = fence_for(shift, position)
    if fence is None or not is_outside(fence, position):
        return False
    if fence.mode == "refuse":
        raise ScanRefused("outside_radius")
    return True


def check_in_outside(check: bool, shift: Shift, position: Position | None) -> bool:
    """Scan-engine hook at check-in: True to flag it, ScanRefused to refuse it; `check` False (manual) skips."""
    return bool(check) and outside_shift_fence(shift, position)


def check_out_fence(check: bool, attendance: Attendance, position: Position | None) -> bool:
    """Scan-engine hook at check-out: refuse it (ScanRefused) when outside a refusing fence of the shift; True
    when outside a flagging one (the engine flags the attendance as it closes it); `check` False (manual) skips."""
    return bool(check) and outside_shift_fence(attendance.shift, position)
