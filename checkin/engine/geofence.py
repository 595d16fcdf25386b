"""Geofences that other areas define for their own events' shifts (e.g. a river patrol: distance to the segment's line).

An area registers a provider once, at import: `register_fence_provider(provider, event_kinds=...)`, where
`provider(event_id, event_kind) -> Fence | None` answers None for events that are not its own. The engine's
snapshot (checkin.engine.snapshot) asks the providers, for events of the kinds they named only; the decision
(checkin.engine.decide) measures the position against the fence without I/O: a position beyond the limit (or no
position at all) is refused or flagged, as the fence says. The event's own circle (checkin.engine.geo) is checked
as before; a fence adds to it, it never relaxes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checkin.engine.geo import Position


@dataclass(frozen=True)
class Fence:
    """Where an event's shifts take place (`measure`: metres from a latitude and longitude, a pure function),
    how far from it a scan may be, and "refuse" or "flag" beyond that."""

    measure: Callable[[float, float], float]
    limit_m: float
    mode: str

    def distance_m(self, position: Position | None) -> float | None:
        """The position's distance, or None when no position was reported."""
        return None if position is None else self.measure(position.latitude, position.longitude)

    def is_outside(self, position: Position | None, *, allowance_m: float) -> bool:
        """True beyond the limit (a missing position is outside); the reported accuracy is forgiven up to
        `allowance_m`, as for the event's own circle."""
        distance = self.distance_m(position)
        if distance is None or position is None:
            return True
        return distance - min(position.accuracy_m or 0.0, allowance_m) > self.limit_m


FenceProvider = Callable[[int, str], Fence | None]
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


def fence_for(event_id: int, event_kind: str) -> Fence | None:
    """The first registered provider's fence for this event's shifts, or None when no provider claims it."""
    if not may_fence(event_kind):
        return None
    for provider in _providers:
        fence = provider(event_id, event_kind)
        if fence is not None:
            return fence
    return None
