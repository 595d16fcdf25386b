"""How many minutes an attendance credits, and in which local calendar years.

Credited time is check-in to check-out, clipped to the shift window widened by the grace
(HOURS_GRACE_MINUTES, default 15) on both sides: arriving early or travelling is not service
time. The organizing organization's rounding rule (its own, or its nearest ancestor's) applies
to the attendance's whole credited time. A service that crosses local midnight into 1 January
counts in each year as it fell: it is split at the year boundary, and when rounding changes the
total, the difference is taken from (or given to) the last year's part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.timeutil import LOCAL_TZ, to_local
from hours.ledger.models import RoundingPolicy, RoundingRule
from volunteers.organizations.models import Organization

if TYPE_CHECKING:
    from volunteers.accounts.models import User

DEFAULT_GRACE_MINUTES = 15


@dataclass(frozen=True)
class Piece:
    """The part of a credited stay that falls in one local calendar year."""

    year: int
    service_date: date
    started_at: datetime | None
    ended_at: datetime | None
    minutes: int


def grace_minutes() -> int:
    """The configured grace around a shift's window, in minutes."""
    return int(current_app.config.get("HOURS_GRACE_MINUTES", DEFAULT_GRACE_MINUTES))


def apply_rounding(minutes: int, rule: str) -> int:
    """Round a number of credited minutes by an organization's rule."""
    if minutes <= 0:
        return 0
    if rule == RoundingRule.DOWN_15.value:
        return minutes // 15 * 15
    if rule == RoundingRule.NEAREST_30.value:
        return (minutes + 15) // 30 * 30
    return minutes


def rounding_rule_for(organization: Organization) -> str:
    """The rule of the organization or of its nearest ancestor that has one ("none" otherwise)."""
    ids = [int(part) for part in organization.path.strip("/").split("/") if part]
    if not ids:
        ids = [organization.id]
    rows = dict(
        db.session.execute(
            select(RoundingPolicy.organization_id, RoundingPolicy.rule).where(RoundingPolicy.organization_id.in_(ids))
        )
        .tuples()
        .all()
    )
    for org_id in reversed(ids):
        if org_id in rows:
            return rows[org_id]
    return RoundingRule.NONE.value


def _year_start(year: int) -> datetime:
    """Local midnight starting 1 January of `year`, as an aware datetime."""
    return datetime(year, 1, 1, tzinfo=LOCAL_TZ)


def _whole_minutes(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() // 60), 0)


def credited_pieces(
    checked_in_at: datetime,
    checked_out_at: datetime,
    shift_starts_at: datetime,
    shift_ends_at: datetime,
    *,
    grace: int,
    rule: str,
) -> list[Piece]:
    """The credited minutes of one stay, one piece per local calendar year it touches (at least one)."""
    window_start = shift_starts_at - timedelta(minutes=grace)
    window_end = shift_ends_at + timedelta(minutes=grace)
    start = max(checked_in_at, window_start)
    end = min(checked_out_at, window_end)
    if end <= start:
        local = to_local(checked_in_at)
        return [Piece(local.year, local.date(), None, None, 0)]
    # Cut at each local 1 January midnight between start and end.
    bounds = [start]
    year = to_local(start).year + 1
    while _year_start(year) < end:
        bounds.append(_year_start(year).astimezone(start.tzinfo))
        year += 1
    bounds.append(end)
    total = _whole_minutes(start, end)
    raw = [_whole_minutes(start, b) for b in bounds[1:]]  # cumulative, so the parts add up to the total
    parts = [raw[0]] + [raw[i] - raw[i - 1] for i in range(1, len(raw))]
    parts[-1] += total - sum(parts)
    remaining = apply_rounding(total, rule)
    credited = []
    for index, part in enumerate(parts):
        share = remaining if index == len(parts) - 1 else min(part, remaining)
        credited.append(share)
        remaining -= share
    pieces = []
    for index, minutes in enumerate(credited):
        piece_start, piece_end = bounds[index], bounds[index + 1]
        local = to_local(piece_start)
        pieces.append(Piece(local.year, local.date(), piece_start, piece_end, minutes))
    kept = [p for p in pieces if p.minutes > 0]
    return kept or pieces[:1]


def set_rounding_rule(organization: Organization, rule: str, *, by: User, now: datetime) -> RoundingPolicy:
    """Set an organization's rounding rule (its subtree follows unless a descendant sets its own)."""
    from flask_babel import gettext as _

    from app import audit, permissions
    from app.errors import PermissionDenied, ValidationFailed

    if not permissions.can_set_rounding(by, organization):
        raise PermissionDenied(_("You may not set the rounding of this organization."), code="not_allowed")
    if rule not in {r.value for r in RoundingRule}:
        raise ValidationFailed(_("Choose a rounding rule from the list."), code="unknown_rule", field="rule")
    policy = db.session.get(RoundingPolicy, organization.id)
    before = {"rule": policy.rule} if policy is not None else None
    if policy is None:
        policy = RoundingPolicy(organization_id=organization.id, rule=rule, set_by_id=by.id, set_at=now)
        db.session.add(policy)
    else:
        policy.rule, policy.set_by_id, policy.set_at = rule, by.id, now
    db.session.flush()
    audit.record(
        "hours.rounding",
        actor=by,
        now=now,
        target=organization,
        organization_id=organization.id,
        before=before,
        after={"rule": rule},
    )
    return policy
