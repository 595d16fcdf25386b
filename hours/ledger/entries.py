"""Writing the ledger: appending entries and status events, and keeping the derived tables in step.

Every function here flushes and never commits. The derived tables (hour_entry_states,
hour_summaries) change in the same transaction as the ledger rows they derive from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app import audit
from app.errors import Conflict
from app.extensions import db, rowcount

if TYPE_CHECKING:
    from volunteers.accounts.models import User
from hours.ledger.models import (
    PENDING_STATUSES,
    EntryKind,
    EntryStatus,
    HourEntry,
    HourEntryEvent,
    HourEntryState,
    HourSummary,
)


def snapshot(entry: HourEntry, status: str | None) -> dict:
    """What the audit trail keeps of an entry at one moment."""
    return {
        "status": status,
        "minutes": entry.minutes,
        "kind": entry.kind,
        "volunteer_id": entry.volunteer_id,
        "event_id": entry.event_id,
        "service_date": entry.service_date.isoformat(),
        "line": entry.line_id,
    }


def line_counted_minutes(line_id: int) -> int:
    """Minutes a line counts now: the sum of its verified entries."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(HourEntryState.minutes), 0)).where(
                HourEntryState.line_id == line_id, HourEntryState.status == EntryStatus.VERIFIED.value
            )
        )
        or 0
    )


def line_open_minutes(line_id: int) -> int:
    """Minutes a line counts or may still count: its verified and pending entries."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(HourEntryState.minutes), 0)).where(
                HourEntryState.line_id == line_id,
                HourEntryState.status.in_((EntryStatus.VERIFIED.value, *PENDING_STATUSES)),
            )
        )
        or 0
    )


def pending_entry_of_line(line_id: int) -> HourEntry | None:
    """The line's entry awaiting a decision, if any (at most one, held by a unique index)."""
    return db.session.scalar(
        select(HourEntry)
        .join(HourEntryState, HourEntryState.entry_id == HourEntry.id)
        .where(HourEntryState.line_id == line_id, HourEntryState.status.in_(PENDING_STATUSES))
    )


def line_entries(line_id: int) -> list[HourEntry]:
    """Every entry of a line, oldest first."""
    return list(
        db.session.scalars(
            select(HourEntry)
            .where((HourEntry.id == line_id) | (HourEntry.amends_entry_id == line_id))
            .order_by(HourEntry.id)
        )
    )


def append_entry(
    *,
    status: str,
    now: datetime,
    by_id: int | None,
    reason: str = "",
    action: str,
    actor: User | None = None,
    **fields: Any,
) -> HourEntry:
    """Append one entry with its first status event and state row; Conflict if its line already waits."""
    entry = HourEntry(created_at=now, reason=reason, author_id=fields.pop("author_id", by_id), **fields)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
            db.session.add(
                HourEntryEvent(entry_id=entry.id, status=status, from_status=None, by_id=by_id, at=now, reason=reason)
            )
            db.session.add(
                HourEntryState(
                    entry_id=entry.id,
                    line_id=entry.line_id,
                    status=status,
                    changed_at=now,
                    volunteer_id=entry.volunteer_id,
                    organization_id=entry.organization_id,
                    event_id=entry.event_id,
                    kind=entry.kind,
                    service_date=entry.service_date,
                    service_year=entry.service_year,
                    minutes=entry.minutes,
                )
            )
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_("These hours already wait for a decision; decide that first."), code="line_pending") from exc
    if status == EntryStatus.VERIFIED.value:
        add_to_summary(entry, now=now)
    audit.record(
        action,
        actor=actor,
        now=now,
        target=entry,
        organization_id=entry.organization_id,
        before=None,
        after=snapshot(entry, status),
        note=reason,
    )
    return entry


def change_status(
    entry: HourEntry,
    to_status: str,
    *,
    from_statuses: tuple[str, ...],
    by: User | None,
    now: datetime,
    reason: str = "",
    action: str,
) -> None:
    """Move an entry to a new status if it is still in one of `from_statuses`; Conflict otherwise.

    The guarded UPDATE of its state row lets exactly one of two concurrent decisions through.
    """
    current = entry_state_status(entry.id)
    changed = rowcount(
        db.session.execute(
            update(HourEntryState)
            .where(HourEntryState.entry_id == entry.id, HourEntryState.status.in_(from_statuses))
            .values(status=to_status, changed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        raise Conflict(_("These hours were already decided or changed; reload the page."), code="status_changed")
    db.session.add(
        HourEntryEvent(
            entry_id=entry.id,
            status=to_status,
            from_status=current,
            by_id=by.id if by is not None else None,
            at=now,
            reason=reason,
        )
    )
    if to_status == EntryStatus.VERIFIED.value:
        add_to_summary(entry, now=now)
    db.session.flush()
    state = db.session.get(HourEntryState, entry.id)
    if state is not None:
        db.session.refresh(state)
    audit.record(
        action,
        actor=by,
        now=now,
        target=entry,
        organization_id=entry.organization_id,
        before=snapshot(entry, current),
        after=snapshot(entry, to_status),
        note=reason,
    )


def entry_state_status(entry_id: int) -> str | None:
    """An entry's current status as the state table holds it."""
    return db.session.scalar(select(HourEntryState.status).where(HourEntryState.entry_id == entry_id))


def _upsert(dialect_name: str) -> Callable[[type[HourSummary]], postgresql.Insert | sqlite.Insert]:
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def add_to_summary(entry: HourEntry, *, now: datetime) -> None:
    """Add a newly verified entry's minutes to its volunteer's year summary (one atomic upsert)."""
    scan = entry.minutes if entry.kind == EntryKind.SCAN.value else 0
    backfill = entry.minutes if entry.kind == EntryKind.BACKFILL.value else 0
    insert = _upsert(db.session.get_bind().dialect.name)
    statement = insert(HourSummary).values(
        volunteer_id=entry.volunteer_id,
        service_year=entry.service_year,
        scan_minutes=scan,
        backfill_minutes=backfill,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[HourSummary.volunteer_id, HourSummary.service_year],
        set_={
            "scan_minutes": HourSummary.scan_minutes + scan,
            "backfill_minutes": HourSummary.backfill_minutes + backfill,
            "updated_at": now,
        },
    )
    db.session.execute(statement)
    summary = db.session.get(HourSummary, (entry.volunteer_id, entry.service_year))
    if summary is not None:
        db.session.refresh(summary)
