"""Verification: the coordinator reviews and submits an event's hours; a reviewer verifies or rejects them.

Nobody verifies hours they recorded or their own: the volunteer, the entry's author, whoever
checked the attendance in or out or corrected it, and whoever submitted the entry are all
refused (`recorders_of`). Scan hours are verified by a reviewer of the organizing organization
or any ancestor; back-filled hours only by one whose role is held above the organizer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload

from app import permissions
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from checkin.models import Attendance, AttendanceStatus
from events.models import Event
from hours import notices  # noqa: F401  (registers the hours notification kinds)
from hours.ledger.entries import change_status
from hours.ledger.models import EntryKind, EntryStatus, HourEntry, HourEntryEvent, HourEntryState
from notifications.services import notify
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

RECORDED, SUBMITTED = EntryStatus.RECORDED.value, EntryStatus.SUBMITTED.value


def recorders_for(entries: list[HourEntry]) -> dict[int, set[int]]:
    """For each entry, the users who recorded it or served it (two queries for any number of entries)."""
    result: dict[int, set[int]] = {
        e.id: {person for person in (e.volunteer_id, e.author_id) if person is not None} for e in entries
    }
    attendance_ids = {e.attendance_id for e in entries if e.attendance_id is not None}
    if attendance_ids:
        people = {
            row.id: row
            for row in db.session.execute(
                select(
                    Attendance.id, Attendance.checked_in_by_id, Attendance.checked_out_by_id, Attendance.corrected_by_id
                ).where(Attendance.id.in_(attendance_ids))
            )
        }
        for entry in entries:
            row = people.get(entry.attendance_id)
            if row is not None:
                result[entry.id] |= {row.checked_in_by_id, row.checked_out_by_id, row.corrected_by_id} - {None}
    if entries:
        for entry_id, by_id in db.session.execute(
            select(HourEntryEvent.entry_id, HourEntryEvent.by_id).where(
                HourEntryEvent.entry_id.in_([e.id for e in entries]),
                HourEntryEvent.status == SUBMITTED,
                HourEntryEvent.by_id.is_not(None),
            )
        ):
            result[entry_id].add(by_id)
    return result


def recorders_of(entry: HourEntry) -> set[int]:
    """The users who recorded or served one entry (they may not verify it)."""
    return recorders_for([entry])[entry.id]


def verification_refusal(user: User, entry: HourEntry, recorders: set[int]) -> tuple[str, str] | None:
    """Why the user may not verify or reject the entry, as (code, message); None when they may."""
    if permissions.can_verify_hours(user, entry, recorders):
        return None
    if user.id in recorders and permissions.can_review(user, permissions.hours_verifying_organization(entry)):
        return "own_or_recorded", _("Nobody verifies hours they recorded, submitted or served themselves.")
    if entry.kind == EntryKind.BACKFILL.value and permissions.can_review(user, entry.organization):
        return "needs_higher_level", _("Back-filled hours are approved by a reviewer one level above the organizer.")
    return "outside_subtree", _("These hours belong to an organization outside your responsibility.")


@dataclass
class EntryRow:
    """An entry as the review pages show it."""

    entry: HourEntry
    status: str
    attendance: Attendance | None = None
    flags: list[str] = field(default_factory=list)
    refusal: str | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def _flags(attendance: Attendance | None) -> list[str]:
    if attendance is None:
        return []
    return [name for name in ("conflict", "offline", "outside_radius") if getattr(attendance, name)]


def _rows(entries: list[HourEntry], statuses: dict[int, str]) -> list[EntryRow]:
    attendance_ids = {e.attendance_id for e in entries if e.attendance_id}
    attendances: dict[int | None, Attendance] = (  # looked up by attendance_id, None for a back-filled entry
        {a.id: a for a in db.session.scalars(select(Attendance).where(Attendance.id.in_(attendance_ids)))}
        if attendance_ids
        else {}
    )
    return [
        EntryRow(e, statuses[e.id], attendances.get(e.attendance_id), _flags(attendances.get(e.attendance_id)))
        for e in entries
    ]


def _event_entries(event: Event, statuses: tuple[str, ...]) -> tuple[list[HourEntry], dict[int, str]]:
    rows = db.session.execute(
        select(HourEntry, HourEntryState.status)
        .join(HourEntryState, HourEntryState.entry_id == HourEntry.id)
        .where(HourEntryState.event_id == event.id, HourEntryState.status.in_(statuses))
        .options(joinedload(HourEntry.volunteer), joinedload(HourEntry.author))
        .order_by(HourEntry.service_date, HourEntry.id)
    ).all()
    return [entry for entry, _s in rows], {entry.id: status for entry, status in rows}


@dataclass
class EventReview:
    """What a coordinator sees when reviewing an event's hours: exceptions first."""

    missing_checkouts: list[Attendance]
    still_open: list[Attendance]
    flagged: list[EntryRow]
    ready: list[EntryRow]
    counts: dict[str, int]


def event_review(event: Event) -> EventReview:
    """The event's attendance exceptions and recorded entries (flagged ones first), with counts by status."""
    attendances = db.session.scalars(
        select(Attendance)
        .where(
            Attendance.event_id == event.id,
            Attendance.status.in_((AttendanceStatus.MISSING_CHECKOUT.value, AttendanceStatus.OPEN.value)),
        )
        .options(joinedload(Attendance.user))
        .order_by(Attendance.checked_in_at)
    ).all()
    entries, statuses = _event_entries(event, (RECORDED,))
    rows = _rows(entries, statuses)
    counts = dict(
        db.session.execute(
            select(HourEntryState.status, func.count())
            .where(HourEntryState.event_id == event.id)
            .group_by(HourEntryState.status)
        )
        .tuples()
        .all()
    )
    return EventReview(
        missing_checkouts=[a for a in attendances if a.status == AttendanceStatus.MISSING_CHECKOUT.value],
        still_open=[a for a in attendances if a.status == AttendanceStatus.OPEN.value],
        flagged=[r for r in rows if r.flagged],
        ready=[r for r in rows if not r.flagged],
        counts=counts,
    )


def submit_entries(event: Event, *, by: User, now: datetime, entry_ids: list[int] | None = None) -> int:
    """Submit recorded entries of an event for verification: the chosen ones, or all not flagged; returns how many."""
    if not permissions.can_submit_hours(by, event):
        raise PermissionDenied(_("You may not submit the hours of this event."), code="not_allowed")
    entries, statuses = _event_entries(event, (RECORDED,))
    rows = _rows(entries, statuses)
    if entry_ids is None:
        chosen = [r.entry for r in rows if not r.flagged]
    else:
        wanted = set(entry_ids)
        chosen = [r.entry for r in rows if r.entry.id in wanted]
    for entry in chosen:
        change_status(entry, SUBMITTED, from_statuses=(RECORDED,), by=by, now=now, action="hours.submit")
    return len(chosen)


def _check_reviewable(user: User, event: Event) -> None:
    if not permissions.can_review_hours(user, event):
        raise PermissionDenied(
            _("These hours belong to an organization outside your responsibility."), code="outside_subtree"
        )


def submitted_rows(event: Event, user: User) -> list[EntryRow]:
    """The event's submitted entries, each with why this reviewer may not decide it (if so)."""
    entries, statuses = _event_entries(event, (SUBMITTED,))
    rows = _rows(entries, statuses)
    recorders = recorders_for(entries)
    for row in rows:
        refusal = verification_refusal(user, row.entry, recorders[row.entry.id])
        row.refusal = refusal[1] if refusal else None
    return rows


def _decide(
    entries: list[HourEntry], to_status: str, *, by: User, now: datetime, reason: str, strict: bool
) -> tuple[int, int]:
    """Verify or reject entries; refusals raise (strict) or are skipped and counted."""
    recorders = recorders_for(entries)
    done = skipped = 0
    for entry in entries:
        refusal = verification_refusal(by, entry, recorders[entry.id])
        if refusal is not None:
            if strict:
                raise PermissionDenied(refusal[1], code=refusal[0])
            skipped += 1
            continue
        action = "hours.verify" if to_status == EntryStatus.VERIFIED.value else "hours.reject"
        change_status(entry, to_status, from_statuses=(SUBMITTED,), by=by, now=now, reason=reason, action=action)
        if to_status == EntryStatus.REJECTED.value:
            _tell_rejected(entry, reason, now=now)
        done += 1
    return done, skipped


def _tell_rejected(entry: HourEntry, reason: str, *, now: datetime) -> None:
    notify(
        entry.volunteer_id,
        "hours_rejected",
        now=now,
        link=f"/hours/entries/{entry.id}",
        params={
            "event": entry.event.title,
            "minutes": entry.minutes,
            "date": entry.service_date.isoformat(),
            "reason": reason,
        },
        dedupe_key=f"hours_rejected:{entry.id}",
    )


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A rejection needs a reason."), code="reason_required", field="reason")
    return reason


def verify_entry(entry: HourEntry, *, by: User, now: datetime) -> None:
    """Verify one submitted entry (refusals raise PermissionDenied)."""
    _decide([entry], EntryStatus.VERIFIED.value, by=by, now=now, reason="", strict=True)


def reject_entry(entry: HourEntry, *, by: User, now: datetime, reason: str) -> None:
    """Reject one submitted entry with a reason (refusals raise PermissionDenied)."""
    _decide([entry], EntryStatus.REJECTED.value, by=by, now=now, reason=_require_reason(reason), strict=True)


def decide_event_entries(
    event: Event, entry_ids: list[int], *, verify: bool, by: User, now: datetime, reason: str = ""
) -> tuple[int, int]:
    """Verify or reject chosen submitted entries of an event in bulk; returns (decided, skipped as not theirs)."""
    _check_reviewable(by, event)
    reason = reason.strip() if verify else _require_reason(reason)
    entries, _statuses = _event_entries(event, (SUBMITTED,))
    wanted = set(entry_ids)
    chosen = [e for e in entries if e.id in wanted]
    if not chosen:
        raise ValidationFailed(_("Choose at least one entry."), code="nothing_chosen")
    status = EntryStatus.VERIFIED.value if verify else EntryStatus.REJECTED.value
    return _decide(chosen, status, by=by, now=now, reason=reason, strict=False)


def _review_scope(user: User) -> ColumnElement[bool] | None:
    """SQL condition on Organization (the organizer): entries this user may verify by level."""
    paths = permissions.role_paths(user, permissions.REVIEWER_ROLES)
    if not paths:
        return None
    scan = and_(HourEntryState.kind == EntryKind.SCAN.value, permissions.subtree_filter(Organization.path, paths))
    above = or_(
        *[and_(Organization.path.startswith(p, autoescape=True), Organization.path != p) for p in paths],
        and_(Organization.parent_id.is_(None), permissions.subtree_filter(Organization.path, paths)),
    )
    return or_(scan, and_(HourEntryState.kind == EntryKind.BACKFILL.value, above))


def review_queue(user: User) -> list[dict]:
    """Events with submitted entries this reviewer may verify: counts of scan and back-filled entries."""
    scope = _review_scope(user)
    if scope is None:
        return []
    rows = db.session.execute(
        select(HourEntryState.event_id, HourEntryState.kind, func.count(), func.sum(HourEntryState.minutes))
        .join(Organization, Organization.id == HourEntryState.organization_id)
        .where(HourEntryState.status == SUBMITTED, scope)
        .group_by(HourEntryState.event_id, HourEntryState.kind)
    ).all()
    by_event: dict[int, dict] = defaultdict(lambda: {"scan": 0, "backfill": 0, "minutes": 0})
    for event_id, kind, count, minutes in rows:
        by_event[event_id][kind] = count
        by_event[event_id]["minutes"] += minutes or 0
    events = (
        {e.id: e for e in db.session.scalars(select(Event).where(Event.id.in_(list(by_event))))} if by_event else {}
    )
    queue = [{"event": events[event_id], **counts} for event_id, counts in by_event.items()]
    return sorted(queue, key=lambda item: item["event"].starts_at)


def coordinated_events(user: User, *, limit: int = 100) -> list[dict]:
    """Events the coordinator manages that have recorded entries or attendance exceptions, newest first."""
    paths = permissions.role_paths(user, permissions.MANAGER_ROLES)
    if not paths:
        return []
    in_scope = (
        select(Event.id)
        .join(Organization, Organization.id == Event.organization_id)
        .where(permissions.subtree_filter(Organization.path, paths))
    )
    recorded = dict(
        db.session.execute(
            select(HourEntryState.event_id, func.count())
            .where(HourEntryState.status == RECORDED, HourEntryState.event_id.in_(in_scope))
            .group_by(HourEntryState.event_id)
        )
        .tuples()
        .all()
    )
    waiting = dict(
        db.session.execute(
            select(Attendance.event_id, func.count())
            .where(
                Attendance.event_id.in_(in_scope),
                or_(
                    Attendance.status == AttendanceStatus.MISSING_CHECKOUT.value,
                    and_(
                        Attendance.status == AttendanceStatus.CLOSED.value,
                        ~select(HourEntry.id).where(HourEntry.attendance_id == Attendance.id).exists(),
                    ),
                ),
            )
            .group_by(Attendance.event_id)
        )
        .tuples()
        .all()
    )
    ids = set(recorded) | set(waiting)
    if not ids:
        return []
    events = db.session.scalars(
        select(Event).where(Event.id.in_(ids)).order_by(Event.starts_at.desc()).limit(limit)
    ).all()
    return [{"event": e, "recorded": recorded.get(e.id, 0), "waiting": waiting.get(e.id, 0)} for e in events]
