"""The ledger's public API: what other areas (membership, certificates, reports) call.

Only verified entries count anywhere. Year totals read the stored per-volunteer-year summary
(one primary-key lookup); period and subtree queries read the indexed state table.

    record_attendance(attendance, *, now) -> list[HourEntry]
    collect_closed_attendances(*, now, event_id=None) -> int
    verified_minutes(user_id, *, year=None, period=None, kind=None) -> int
    verified_minutes_query(...) -> Select (volunteer_id, scan_minutes, backfill_minutes, minutes)
    verified_services_query(...) -> Select (one row per verified service line)
    entry_status(entry) -> str
    correct_entry(entry, *, minutes, by, now, reason) -> HourEntry
    reverse_entry(entry, *, by, now, reason) -> HourEntry
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import aliased, joinedload

from app import permissions
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from hours.ledger.entries import (
    append_entry,
    entry_state_status,
    line_counted_minutes,
    line_entries,
    pending_entry_of_line,
)
from hours.ledger.models import (
    PENDING_STATUSES,
    EntryKind,
    EntryStatus,
    HourEntry,
    HourEntryEvent,
    HourEntryState,
    HourSummary,
)
from hours.ledger.recording import collect_closed_attendances, record_attendance
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

__all__ = [
    "collect_closed_attendances",
    "correct_entry",
    "entry_status",
    "max_line_minutes",
    "record_attendance",
    "reverse_entry",
    "verified_minutes",
    "verified_minutes_query",
    "verified_services_query",
]

VERIFIED = EntryStatus.VERIFIED.value


def _kind_value(kind: str | EntryKind | None) -> str | None:
    if kind is None:
        return None
    value = kind.value if isinstance(kind, EntryKind) else kind
    if value not in (EntryKind.SCAN.value, EntryKind.BACKFILL.value):
        raise ValueError(f"unknown kind of hours: {kind!r}")
    return value


def verified_minutes(
    user_id: int, *, year: int | None = None, period: tuple[date, date] | None = None, kind: str | None = None
) -> int:
    """A volunteer's verified minutes: in a local calendar year, a period of local dates (inclusive), or ever."""
    kind = _kind_value(kind)
    if period is None:
        query = select(
            func.coalesce(func.sum(HourSummary.scan_minutes), 0),
            func.coalesce(func.sum(HourSummary.backfill_minutes), 0),
        ).where(HourSummary.volunteer_id == user_id)
        if year is not None:
            query = query.where(HourSummary.service_year == year)
        scan, backfill = db.session.execute(query).one()
        return {None: scan + backfill, EntryKind.SCAN.value: scan, EntryKind.BACKFILL.value: backfill}[kind]
    in_period = select(func.coalesce(func.sum(HourEntryState.minutes), 0)).where(
        HourEntryState.volunteer_id == user_id,
        HourEntryState.status == VERIFIED,
        HourEntryState.service_date >= period[0],
        HourEntryState.service_date <= period[1],
    )
    if year is not None:
        in_period = in_period.where(HourEntryState.service_year == year)
    if kind is not None:
        in_period = in_period.where(HourEntryState.kind == kind)
    return db.session.scalar(in_period) or 0


def _subtree(paths: Iterable[str]) -> ColumnElement[bool]:
    return permissions.subtree_filter(Organization.path, list(paths))


def verified_minutes_query(
    *,
    year: int | None = None,
    period: tuple[date, date] | None = None,
    kind: str | None = None,
    volunteer_ids: Iterable[int] | Select[Any] | None = None,
    affiliation_paths: Iterable[str] | None = None,
    organizer_paths: Iterable[str] | None = None,
) -> Select:
    """Per-volunteer verified minutes as a select of (volunteer_id, scan_minutes, backfill_minutes, minutes).

    Filters: a local calendar year, a period of local dates (inclusive), a kind ("scan" or
    "backfill": `minutes` then counts only that kind), volunteers (ids or a select of ids),
    volunteers affiliated inside the given organization subtrees (Organization.path prefixes),
    events organized inside the given subtrees. Volunteers without verified minutes are absent:
    outer-join it (`.subquery()`) to list everyone. Year-only queries read the summary table.
    """
    kind = _kind_value(kind)
    source: type[HourSummary] | type[HourEntryState]
    if period is None and organizer_paths is None:
        source = HourSummary
        scan = func.sum(HourSummary.scan_minutes)
        backfill = func.sum(HourSummary.backfill_minutes)
        query = select(HourSummary.volunteer_id.label("volunteer_id"))
        if year is not None:
            query = query.where(HourSummary.service_year == year)
    else:
        source = HourEntryState
        scan = func.sum(case((HourEntryState.kind == EntryKind.SCAN.value, HourEntryState.minutes), else_=0))
        backfill = func.sum(case((HourEntryState.kind == EntryKind.BACKFILL.value, HourEntryState.minutes), else_=0))
        query = select(HourEntryState.volunteer_id.label("volunteer_id")).where(HourEntryState.status == VERIFIED)
        if year is not None:  # the date range lets the (status, service_date) indexes serve a year
            query = query.where(
                HourEntryState.service_year == year,
                HourEntryState.service_date >= date(year, 1, 1),
                HourEntryState.service_date <= date(year, 12, 31),
            )
        if period is not None:
            query = query.where(HourEntryState.service_date >= period[0], HourEntryState.service_date <= period[1])
        if organizer_paths is not None:
            query = query.join(Organization, Organization.id == HourEntryState.organization_id).where(
                _subtree(organizer_paths)
            )
    if volunteer_ids is not None:
        query = query.where(source.volunteer_id.in_(volunteer_ids))
    if affiliation_paths is not None:
        affiliated = (
            select(User.id)
            .join(Organization, Organization.id == User.organization_id)
            .where(_subtree(affiliation_paths))
        )
        query = query.where(source.volunteer_id.in_(affiliated))
    total = {None: scan + backfill, EntryKind.SCAN.value: scan, EntryKind.BACKFILL.value: backfill}[kind]
    return query.add_columns(
        scan.label("scan_minutes"), backfill.label("backfill_minutes"), total.label("minutes")
    ).group_by(source.volunteer_id)


def verified_services_query(
    *,
    volunteer_id: int | None = None,
    period: tuple[date, date] | None = None,
    year: int | None = None,
    organizer_paths: Iterable[str] | None = None,
    kind: str | None = None,
) -> Select:
    """Verified services, one row per line (an attendance-year or a back-filled record, corrections netted).

    Columns: line_id, volunteer_id, event_id, organization_id, kind, service_date, minutes. Lines
    whose verified minutes net to zero (reversed) are left out. Ordered by date.
    """
    kind = _kind_value(kind)
    first = aliased(HourEntry)
    query = (
        select(
            HourEntryState.line_id,
            HourEntryState.volunteer_id,
            HourEntryState.event_id,
            HourEntryState.organization_id,
            HourEntryState.kind,
            first.service_date,
            func.sum(HourEntryState.minutes).label("minutes"),
        )
        .join(first, first.id == HourEntryState.line_id)
        .where(HourEntryState.status == VERIFIED)
    )
    if volunteer_id is not None:
        query = query.where(HourEntryState.volunteer_id == volunteer_id)
    if period is not None:
        query = query.where(HourEntryState.service_date >= period[0], HourEntryState.service_date <= period[1])
    if year is not None:
        query = query.where(HourEntryState.service_year == year)
    if kind is not None:
        query = query.where(HourEntryState.kind == kind)
    if organizer_paths is not None:
        query = query.join(Organization, Organization.id == HourEntryState.organization_id).where(
            _subtree(organizer_paths)
        )
    return (
        query.group_by(
            HourEntryState.line_id,
            HourEntryState.volunteer_id,
            HourEntryState.event_id,
            HourEntryState.organization_id,
            HourEntryState.kind,
            first.service_date,
        )
        .having(func.sum(HourEntryState.minutes) != literal(0))
        .order_by(first.service_date, HourEntryState.line_id)
    )


def entry_status(entry: HourEntry) -> str:
    """An entry's current status: its latest status event (the state table mirrors it)."""
    status = entry_state_status(entry.id)
    if status is None:
        status = db.session.scalar(
            select(HourEntryEvent.status)
            .where(HourEntryEvent.entry_id == entry.id)
            .order_by(HourEntryEvent.id.desc())
            .limit(1)
        )
    assert status is not None  # an entry is appended with its first status event
    return status


def max_line_minutes(entry: HourEntry) -> int:
    """The most a line may count: the length of its event."""
    event = entry.event
    return int((event.ends_at - event.starts_at).total_seconds() // 60)


def _append_correction(
    entry: HourEntry, *, target: int, by: User, now: datetime, reason: str, action: str
) -> HourEntry:
    if not permissions.can_correct_hours(by, entry):
        raise PermissionDenied(_("You may not correct these hours."), code="not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the correction."), code="reason_required", field="reason")
    if target < 0 or target > max_line_minutes(entry):
        raise ValidationFailed(
            _(
                "The corrected total must be between 0 and the length of the activity (%(max)s minutes).",
                max=max_line_minutes(entry),
            ),
            code="minutes_out_of_range",
            field="minutes",
        )
    first = db.session.get(HourEntry, entry.line_id)
    assert first is not None  # a line is named by its first entry
    if pending_entry_of_line(first.id) is not None:
        raise ValidationFailed(_("These hours already wait for a decision; decide that first."), code="line_pending")
    delta = target - line_counted_minutes(first.id)
    if delta == 0:
        raise ValidationFailed(_("That is already the verified total."), code="no_change", field="minutes")
    latest_source = db.session.scalar(
        select(HourEntry.source_changed_at)
        .where((HourEntry.id == first.id) | (HourEntry.amends_entry_id == first.id))
        .order_by(HourEntry.id.desc())
        .limit(1)
    )
    return append_entry(
        status=EntryStatus.SUBMITTED.value,
        now=now,
        by_id=by.id,
        actor=by,
        action=action,
        reason=reason,
        volunteer_id=first.volunteer_id,
        event_id=first.event_id,
        shift_id=first.shift_id,
        attendance_id=first.attendance_id,
        organization_id=first.organization_id,
        kind=first.kind,
        service_date=first.service_date,
        service_year=first.service_year,
        minutes=delta,
        rounding=first.rounding,
        amends_entry_id=first.id,
        source_changed_at=latest_source,
        evidence_id=first.evidence_id,
    )


def correct_entry(entry: HourEntry, *, minutes: int, by: User, now: datetime, reason: str) -> HourEntry:
    """Correct a line to a new total: one delta entry (submitted, to be verified by someone else)."""
    return _append_correction(entry, target=minutes, by=by, now=now, reason=reason, action="hours.correct")


def reverse_entry(entry: HourEntry, *, by: User, now: datetime, reason: str) -> HourEntry:
    """Reverse a line: a negative entry bringing its verified total to zero (submitted, to be verified)."""
    if line_counted_minutes(entry.line_id) == 0:
        raise ValidationFailed(_("Nothing verified to reverse."), code="nothing_to_reverse")
    return _append_correction(entry, target=0, by=by, now=now, reason=reason, action="hours.reverse")


def entries_of_volunteer(user_id: int, *, year: int | None = None) -> list[tuple[HourEntry, str]]:
    """A volunteer's entries with their current status (a year's, or all), newest service first."""
    query = (
        select(HourEntry, HourEntryState.status)
        .join(HourEntryState, HourEntryState.entry_id == HourEntry.id)
        .where(HourEntryState.volunteer_id == user_id)
        .options(joinedload(HourEntry.event))
        .order_by(
            HourEntry.service_date.desc(), func.coalesce(HourEntry.amends_entry_id, HourEntry.id).desc(), HourEntry.id
        )
    )
    if year is not None:
        query = query.where(HourEntryState.service_year == year)
    return [(entry, status) for entry, status in db.session.execute(query)]


def pending_minutes(user_id: int, *, year: int) -> int:
    """A volunteer's minutes recorded or submitted but not decided yet, in a year."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(HourEntryState.minutes), 0)).where(
                HourEntryState.volunteer_id == user_id,
                HourEntryState.service_year == year,
                HourEntryState.status.in_(PENDING_STATUSES),
            )
        )
        or 0
    )


def line_history(entry: HourEntry) -> list[tuple[HourEntry, str, list[HourEntryEvent]]]:
    """Every entry of the entry's line, with its status and status events, oldest first."""
    entries = line_entries(entry.line_id)
    events = db.session.scalars(
        select(HourEntryEvent)
        .where(HourEntryEvent.entry_id.in_([e.id for e in entries]))
        .options(joinedload(HourEntryEvent.by))
        .order_by(HourEntryEvent.id)
    ).all()
    by_entry: dict[int, list[HourEntryEvent]] = {e.id: [] for e in entries}
    for event in events:
        by_entry[event.entry_id].append(event)
    return [(e, by_entry[e.id][-1].status if by_entry[e.id] else "", by_entry[e.id]) for e in entries]
