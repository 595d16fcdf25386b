"""Read-only queries behind the patrol-report pages: a segment's patrol history, its open findings, who patrolled.

A page of history is a fixed number of queries whatever its length: the patrols, their reports with
finding counts, their attendances and their assignments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.permissions import can_file_patrol_report
from checkin.models import Attendance, AttendanceStatus
from events.models import Assignment, AssignmentStatus, Shift
from patrols.reports.models import OPEN_STATUSES, PatrolFinding, PatrolReport
from patrols.segments.models import PatrolShift, RiverSegment
from volunteers.accounts.models import User

HISTORY_PER_PAGE = 20
PANEL_PATROLS = 8
PANEL_FINDINGS = 30


@dataclass
class Patroller:
    """A volunteer on a patrol: checked in (attendance) or only signed up."""

    user_id: int
    name: str
    attended: bool


@dataclass
class PatrolRow:
    """One past patrol of a segment: when, who patrolled, its report (if filed)."""

    patrol: PatrolShift
    shift: Shift
    people: list[Patroller] = field(default_factory=list)
    report: PatrolReport | None = None
    findings: int = 0
    open_findings: int = 0
    can_file: bool = False

    @property
    def attended(self) -> list[Patroller]:
        return [p for p in self.people if p.attended]

    @property
    def signed_up(self) -> list[Patroller]:
        return [p for p in self.people if not p.attended]


def past_patrols_query(segment: RiverSegment, *, now: datetime) -> Select[tuple[PatrolShift]]:
    """The segment's patrols that have started, newest first (cancelled ones only if a report was filed)."""
    reported = select(PatrolReport.id).where(PatrolReport.patrol_shift_id == PatrolShift.id).exists()
    return (
        select(PatrolShift)
        .join(Shift, Shift.id == PatrolShift.shift_id)
        .options(joinedload(PatrolShift.shift))
        .where(PatrolShift.segment_id == segment.id, Shift.starts_at <= now, (Shift.is_cancelled.is_(False)) | reported)
        .order_by(Shift.starts_at.desc(), PatrolShift.id.desc())
    )


def patrollers(shift_ids: list[int]) -> dict[int, list[Patroller]]:
    """Who patrolled each shift: volunteers with an attendance (not voided), then those only signed up."""
    people: dict[int, dict[int, Patroller]] = defaultdict(dict)
    if not shift_ids:
        return {}
    attended = db.session.execute(
        select(Attendance.shift_id, User.id, User.name)
        .join(User, User.id == Attendance.user_id)
        .where(Attendance.shift_id.in_(shift_ids), Attendance.status != AttendanceStatus.VOIDED.value)
        .order_by(Attendance.checked_in_at, User.id)
    ).all()
    for shift_id, user_id, name in attended:
        people[shift_id].setdefault(user_id, Patroller(user_id, name, True))
    assigned = db.session.execute(
        select(Assignment.shift_id, User.id, User.name)
        .join(User, User.id == Assignment.user_id)
        .where(
            Assignment.shift_id.in_(shift_ids),
            Assignment.status.in_((AssignmentStatus.ASSIGNED.value, AssignmentStatus.COMPLETED.value)),
        )
        .order_by(Assignment.created_at, User.id)
    ).all()
    for shift_id, user_id, name in assigned:
        people[shift_id].setdefault(user_id, Patroller(user_id, name, False))
    return {shift_id: list(by_user.values()) for shift_id, by_user in people.items()}


def _reports_with_counts(patrol_ids: list[int]) -> dict[int, tuple[PatrolReport, int, int]]:
    if not patrol_ids:
        return {}
    open_case = case((PatrolFinding.status.in_(OPEN_STATUSES), 1), else_=0)
    rows = db.session.execute(
        select(PatrolReport, func.count(PatrolFinding.id), func.coalesce(func.sum(open_case), 0))
        .outerjoin(PatrolFinding, PatrolFinding.report_id == PatrolReport.id)
        .where(PatrolReport.patrol_shift_id.in_(patrol_ids))
        .group_by(PatrolReport.id)
    ).all()
    return {report.patrol_shift_id: (report, int(count), int(open_count)) for report, count, open_count in rows}


def patrol_rows(patrols: list[PatrolShift], viewer: User) -> list[PatrolRow]:
    """Rows for a list of patrols: who patrolled, the report and its finding counts, whether the viewer may file."""
    people = patrollers([p.shift_id for p in patrols])
    reports = _reports_with_counts([p.id for p in patrols])
    rows = []
    for patrol in patrols:
        report, count, open_count = reports.get(patrol.id, (None, 0, 0))
        rows.append(
            PatrolRow(
                patrol=patrol,
                shift=patrol.shift,
                people=people.get(patrol.shift_id, []),
                report=report,
                findings=count,
                open_findings=open_count,
                can_file=report is None and not patrol.shift.is_cancelled and can_file_patrol_report(viewer, patrol),
            )
        )
    return rows


def history_page(
    segment: RiverSegment, viewer: User, *, now: datetime, page: int
) -> tuple[Pagination, list[PatrolRow]]:
    """One page of a segment's patrol history: (Flask-SQLAlchemy pagination, rows)."""
    pager = db.paginate(
        past_patrols_query(segment, now=now), page=max(page, 1), per_page=HISTORY_PER_PAGE, error_out=False
    )
    return pager, patrol_rows(list(pager.items), viewer)


def recent_patrols(
    segment: RiverSegment, viewer: User, *, now: datetime, limit: int = PANEL_PATROLS
) -> list[PatrolRow]:
    """The segment's latest patrols, for its page."""
    patrols = list(db.session.scalars(past_patrols_query(segment, now=now).limit(limit)))
    return patrol_rows(patrols, viewer)


def open_findings(segment: RiverSegment, *, limit: int | None = PANEL_FINDINGS) -> list[PatrolFinding]:
    """The segment's findings not resolved yet, oldest patrol first (they have waited longest)."""
    query = (
        select(PatrolFinding)
        .join(PatrolReport, PatrolReport.id == PatrolFinding.report_id)
        .options(joinedload(PatrolFinding.report), joinedload(PatrolFinding.reported_by))
        .where(PatrolFinding.segment_id == segment.id, PatrolFinding.status.in_(OPEN_STATUSES))
        .order_by(PatrolReport.patrol_date, PatrolFinding.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def report_findings(report: PatrolReport) -> list[PatrolFinding]:
    """A report's findings with their photos and the people who followed them up."""
    return list(
        db.session.scalars(
            select(PatrolFinding)
            .where(PatrolFinding.report_id == report.id)
            .options(
                selectinload(PatrolFinding.photos),
                joinedload(PatrolFinding.reported_by),
                joinedload(PatrolFinding.forwarded_by),
                joinedload(PatrolFinding.resolved_by),
            )
            .order_by(PatrolFinding.id)
        )
    )
