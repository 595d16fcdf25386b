"""Rebuilding and checking the derived tables from the ledger (the append-only tables are the truth).

`rebuild()` makes hour_entry_states (each entry's latest status event) and hour_summaries
(verified minutes per volunteer-year, scan and back-filled apart) equal what the ledger says, in
set-based SQL: by default it compares and writes only the rows that differ; `full=True` empties
both and inserts everything again. `differences()` compares both with the ledger and changes nothing.
Both first compute the ledger's view of every entry once, into a temporary table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    FromClause,
    Insert,
    Integer,
    MetaData,
    Select,
    String,
    Subquery,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from app.extensions import db, rowcount
from app.timeutil import UTCDateTime
from hours.ledger.models import EntryKind, EntryStatus, HourEntry, HourEntryEvent, HourEntryState, HourSummary

STATE_COLUMNS = (
    "entry_id",
    "line_id",
    "status",
    "changed_at",
    "volunteer_id",
    "organization_id",
    "event_id",
    "kind",
    "service_date",
    "service_year",
    "minutes",
)
#: the state columns that must agree with the ledger (changed_at is only informative)
COMPARED = tuple(name for name in STATE_COLUMNS if name not in ("entry_id", "changed_at"))
#: INSERT ... SELECT reports how many rows it wrote only when asked to (SQLAlchemy 2.0)
COUNTED = {"preserve_rowcount": True}
SUMMARY_COLUMNS = ["volunteer_id", "service_year", "scan_minutes", "backfill_minutes", "updated_at"]


def _truth_states() -> Select[Any]:
    """Each entry with its latest status event, shaped like hour_entry_states."""
    latest = (
        select(HourEntryEvent.entry_id, func.max(HourEntryEvent.id).label("event_id"))
        .group_by(HourEntryEvent.entry_id)
        .subquery()
    )
    return (
        select(
            HourEntry.id.label("entry_id"),
            func.coalesce(HourEntry.amends_entry_id, HourEntry.id).label("line_id"),
            HourEntryEvent.status.label("status"),
            HourEntryEvent.at.label("changed_at"),
            HourEntry.volunteer_id,
            HourEntry.organization_id,
            HourEntry.event_id,
            HourEntry.kind,
            HourEntry.service_date,
            HourEntry.service_year,
            HourEntry.minutes,
        )
        .join(latest, latest.c.entry_id == HourEntry.id)
        .join(HourEntryEvent, HourEntryEvent.id == latest.c.event_id)
    )


@contextmanager
def _ledger_truth() -> Iterator[Table]:
    """The ledger's view of every entry, computed once into a temporary table for the comparisons."""
    table = Table(
        "hour_ledger_truth",
        MetaData(),
        Column("entry_id", Integer, primary_key=True),
        Column("line_id", Integer),
        Column("status", String(10)),
        Column("changed_at", UTCDateTime),
        Column("volunteer_id", Integer),
        Column("organization_id", Integer),
        Column("event_id", Integer),
        Column("kind", String(10)),
        Column("service_date", Date),
        Column("service_year", Integer),
        Column("minutes", Integer),
        prefixes=["TEMPORARY"],
    )
    connection = db.session.connection()
    table.create(connection)
    try:
        connection.execute(insert(table).from_select(list(STATE_COLUMNS), _truth_states()))
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE hour_ledger_truth"))
        yield table
    finally:
        table.drop(connection)


def _verified_sums(source: FromClause | type[HourEntryState]) -> Select[Any]:
    """Verified minutes per volunteer-year of a states-shaped table or subquery."""
    columns = source.c if hasattr(source, "c") else source
    verified = columns.status == EntryStatus.VERIFIED.value
    scan = func.sum(case((columns.kind == EntryKind.SCAN.value, columns.minutes), else_=0))
    backfill = func.sum(case((columns.kind == EntryKind.BACKFILL.value, columns.minutes), else_=0))
    return (
        select(
            columns.volunteer_id, columns.service_year, scan.label("scan_minutes"), backfill.label("backfill_minutes")
        )
        .where(verified)
        .group_by(columns.volunteer_id, columns.service_year)
    )


def _clear(model: type[HourEntryState] | type[HourSummary]) -> None:
    """Empty a derived table (TRUNCATE on PostgreSQL: no dead rows left behind)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE TABLE {model.__tablename__}"))
    else:
        db.session.execute(delete(model))


def _insert_summaries(rows: Subquery, now: datetime) -> Insert:
    return insert(HourSummary).from_select(
        SUMMARY_COLUMNS,
        select(
            rows.c.volunteer_id,
            rows.c.service_year,
            rows.c.scan_minutes,
            rows.c.backfill_minutes,
            literal(now, HourSummary.updated_at.type),
        ),
    )


def _full_rebuild(truth: Table, now: datetime) -> tuple[int, int]:
    _clear(HourEntryState)
    states = rowcount(
        db.session.execute(
            insert(HourEntryState).from_select(list(STATE_COLUMNS), select(*[truth.c[name] for name in STATE_COLUMNS])),
            execution_options=COUNTED,
        )
    )
    _clear(HourSummary)
    summaries = rowcount(
        db.session.execute(_insert_summaries(_verified_sums(HourEntryState).subquery(), now), execution_options=COUNTED)
    )
    return states, summaries


def _repair_states(truth: Table) -> int:
    """Make hour_entry_states equal the ledger, writing only the rows that differ; returns rows written."""
    state = HourEntryState
    in_truth = select(truth.c.entry_id).where(truth.c.entry_id == state.entry_id).exists()
    fixed = (
        rowcount(db.session.execute(delete(state).where(~in_truth).execution_options(synchronize_session=False))) or 0
    )
    fixed += (
        rowcount(
            db.session.execute(
                update(state)
                .where(
                    state.entry_id == truth.c.entry_id,
                    or_(*[getattr(state, name) != truth.c[name] for name in COMPARED]),
                )
                .values({name: truth.c[name] for name in (*COMPARED, "changed_at")})
                .execution_options(synchronize_session=False)
            )
        )
        or 0
    )
    missing = select(*[truth.c[name] for name in STATE_COLUMNS]).where(
        ~select(state.entry_id).where(state.entry_id == truth.c.entry_id).exists()
    )
    fixed += (
        rowcount(db.session.execute(insert(state).from_select(list(STATE_COLUMNS), missing), execution_options=COUNTED))
        or 0
    )
    return fixed


def _repair_summaries(now: datetime) -> int:
    """Make hour_summaries equal the (repaired) state table, writing only the rows that differ."""
    truth = _verified_sums(HourEntryState).subquery("truth")
    stored = HourSummary
    same_key = and_(truth.c.volunteer_id == stored.volunteer_id, truth.c.service_year == stored.service_year)
    fixed = (
        rowcount(
            db.session.execute(
                delete(stored)
                .where(~select(truth.c.volunteer_id).where(same_key).exists())
                .execution_options(synchronize_session=False)
            )
        )
        or 0
    )
    fixed += (
        rowcount(
            db.session.execute(
                update(stored)
                .where(
                    same_key,
                    or_(
                        stored.scan_minutes != truth.c.scan_minutes, stored.backfill_minutes != truth.c.backfill_minutes
                    ),
                )
                .values(scan_minutes=truth.c.scan_minutes, backfill_minutes=truth.c.backfill_minutes, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        or 0
    )
    missing = select(truth).where(~select(stored.volunteer_id).where(same_key).exists()).subquery()
    fixed += rowcount(db.session.execute(_insert_summaries(missing, now), execution_options=COUNTED)) or 0
    return fixed


def rebuild(*, now: datetime, full: bool = False) -> dict:
    """Make the derived tables equal what the ledger says; returns row counts. Flushes, never commits.

    By default only rows that differ are written (one comparison pass over the ledger); `full`
    empties both tables and inserts every row again.
    """
    db.session.flush()
    with _ledger_truth() as truth:
        if full:
            written_states, written_summaries = _full_rebuild(truth, now)
        else:
            written_states, written_summaries = _repair_states(truth), _repair_summaries(now)
    db.session.expire_all()
    return {
        "states": db.session.scalar(select(func.count()).select_from(HourEntryState)),
        "summaries": db.session.scalar(select(func.count()).select_from(HourSummary)),
        "states_written": written_states,
        "summaries_written": written_summaries,
    }


def _state_differences(truth: Table, limit: int) -> list[str]:
    state = HourEntryState
    found = []
    rows = db.session.execute(
        select(
            truth.c.entry_id,
            state.entry_id.label("state_entry"),
            *[truth.c[name] for name in COMPARED],
            *[getattr(state, name) for name in COMPARED],
        )
        .outerjoin(state, state.entry_id == truth.c.entry_id)
        .where(or_(state.entry_id.is_(None), *[truth.c[name] != getattr(state, name) for name in COMPARED]))
        .limit(limit)
    ).all()
    for row in rows:
        if row.state_entry is None:
            found.append(f"entry {row.entry_id}: no state row")
            continue
        values = list(row)[2:]
        for name, want, have in zip(COMPARED, values[: len(COMPARED)], values[len(COMPARED) :], strict=False):
            if want != have:
                found.append(f"entry {row.entry_id}: state {name} is {have!r}, ledger says {want!r}")
    orphans = db.session.scalars(
        select(state.entry_id)
        .where(~select(truth.c.entry_id).where(truth.c.entry_id == state.entry_id).exists())
        .limit(limit)
    ).all()
    return found + [f"state row {entry_id}: no ledger entry with a status event" for entry_id in orphans]


def _summary_differences(truth: Table, limit: int) -> list[str]:
    expected = _verified_sums(truth).subquery()
    stored = HourSummary
    same_key = and_(stored.volunteer_id == expected.c.volunteer_id, stored.service_year == expected.c.service_year)
    found = []
    for volunteer_id, year, scan, backfill, have_scan, have_backfill in db.session.execute(
        select(
            expected.c.volunteer_id,
            expected.c.service_year,
            expected.c.scan_minutes,
            expected.c.backfill_minutes,
            stored.scan_minutes,
            stored.backfill_minutes,
        )
        .outerjoin(stored, same_key)
        .where(
            or_(
                func.coalesce(stored.scan_minutes, 0) != expected.c.scan_minutes,
                func.coalesce(stored.backfill_minutes, 0) != expected.c.backfill_minutes,
            )
        )
        .limit(limit)
    ):
        found.append(
            f"volunteer {volunteer_id} {year}: summary scan={have_scan} backfill={have_backfill}, "
            f"ledger says scan={scan} backfill={backfill}"
        )
    for volunteer_id, year, scan, backfill in db.session.execute(
        select(stored.volunteer_id, stored.service_year, stored.scan_minutes, stored.backfill_minutes)
        .where(
            ~select(expected.c.volunteer_id).where(same_key).exists(),
            or_(stored.scan_minutes != 0, stored.backfill_minutes != 0),
        )
        .limit(limit)
    ):
        found.append(
            f"volunteer {volunteer_id} {year}: summary scan={scan} backfill={backfill}, ledger has no verified minutes"
        )
    return found


def differences(*, limit: int = 200) -> list[str]:
    """Every way the derived tables disagree with the ledger (at most `limit` lines); empty when they agree."""
    db.session.flush()
    with _ledger_truth() as truth:
        found = _state_differences(truth, limit) + _summary_differences(truth, limit)
    return found[:limit]
