"""The committee view of river patrol: per segment and month, patrols done against planned, hours, findings.

A subtree's segments are those adopted by a team inside it or lying in a town inside it. For each
segment and local month of the period:
- planned: its generated patrol shifts (not cancelled) on days of that month;
- done: those of them with at least one closed attendance or a filed report;
- hours: verified service minutes of the segment's patrol event in the ledger (hours/), by service date;
- findings: by category and by status, counted in the month of the patrol that reported them.
Four aggregate queries, whatever the number of segments and months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, Select, case, extract, func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.spreadsheets import Spreadsheet
from checkin.models import Attendance, AttendanceStatus
from events.models import Shift
from hours.ledger.models import EntryStatus, HourEntryState
from patrols.reports.models import CATEGORY_LABELS, STATUS_LABELS, PatrolFinding, PatrolReport
from patrols.segments.models import PatrolShift, RiverSegment
from volunteers.organizations.models import Organization

MAX_MONTHS = 36


@dataclass
class SegmentMonth:
    """One row: a segment in a month."""

    segment: RiverSegment
    month: str
    planned: int = 0
    done: int = 0
    minutes: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def findings(self) -> int:
        return sum(self.by_status.values())

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


@dataclass
class CommitteeReport:
    """Patrols of a subtree over a period of whole months."""

    organization: Organization
    period: tuple[date, date]
    rows: list[SegmentMonth] = field(default_factory=list)
    segments: int = 0
    #: (category, status) -> count over the period
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def planned(self) -> int:
        return sum(r.planned for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)

    @property
    def minutes(self) -> int:
        return sum(r.minutes for r in self.rows)

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)

    @property
    def findings(self) -> int:
        return sum(self.matrix.values())

    def category_total(self, category: str) -> int:
        return sum(n for (c, _s), n in self.matrix.items() if c == category)

    def status_total(self, status: str) -> int:
        return sum(n for (_c, s), n in self.matrix.items() if s == status)


def month_key(year: float, month: float) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def month_period(first: tuple[int, int], last: tuple[int, int]) -> tuple[date, date]:
    """The local dates from the first day of `first` to the last day of `last` ((year, month) pairs)."""
    end_year, end_month = (last[0] + 1, 1) if last[1] == 12 else (last[0], last[1] + 1)
    return date(first[0], first[1], 1), date.fromordinal(date(end_year, end_month, 1).toordinal() - 1)


def segments_in(organization: Organization) -> Select[tuple[int]]:
    """SQL: ids of the segments adopted by a team in the subtree or lying in a town in it."""
    subtree = select(Organization.id).where(Organization.path.startswith(organization.path, autoescape=True))
    return select(RiverSegment.id).where(or_(RiverSegment.team_id.in_(subtree), RiverSegment.town_id.in_(subtree)))


def _patrol_counts(segment_ids: Select[tuple[int]], period: tuple[date, date]) -> Sequence[Row[Any]]:
    closed = (
        select(Attendance.id)
        .where(Attendance.shift_id == PatrolShift.shift_id, Attendance.status == AttendanceStatus.CLOSED.value)
        .exists()
    )
    reported = select(PatrolReport.id).where(PatrolReport.patrol_shift_id == PatrolShift.id).exists()
    year, month = extract("year", PatrolShift.local_date), extract("month", PatrolShift.local_date)
    return db.session.execute(
        select(
            PatrolShift.segment_id,
            year,
            month,
            func.count(PatrolShift.id),
            func.sum(case((or_(closed, reported), 1), else_=0)),
        )
        .join(Shift, Shift.id == PatrolShift.shift_id)
        .where(
            PatrolShift.segment_id.in_(segment_ids),
            Shift.is_cancelled.is_(False),
            PatrolShift.local_date >= period[0],
            PatrolShift.local_date <= period[1],
        )
        .group_by(PatrolShift.segment_id, year, month)
    ).all()


def _verified_minutes(segment_ids: Select[tuple[int]], period: tuple[date, date]) -> Sequence[Row[Any]]:
    year, month = extract("year", HourEntryState.service_date), extract("month", HourEntryState.service_date)
    return db.session.execute(
        select(RiverSegment.id, year, month, func.sum(HourEntryState.minutes))
        .join(HourEntryState, HourEntryState.event_id == RiverSegment.event_id)
        .where(
            RiverSegment.id.in_(segment_ids),
            HourEntryState.status == EntryStatus.VERIFIED.value,
            HourEntryState.service_date >= period[0],
            HourEntryState.service_date <= period[1],
        )
        .group_by(RiverSegment.id, year, month)
    ).all()


def _finding_counts(segment_ids: Select[tuple[int]], period: tuple[date, date]) -> Sequence[Row[Any]]:
    year, month = extract("year", PatrolReport.patrol_date), extract("month", PatrolReport.patrol_date)
    return db.session.execute(
        select(
            PatrolFinding.segment_id,
            year,
            month,
            PatrolFinding.category,
            PatrolFinding.status,
            func.count(PatrolFinding.id),
        )
        .join(PatrolReport, PatrolReport.id == PatrolFinding.report_id)
        .where(
            PatrolFinding.segment_id.in_(segment_ids),
            PatrolReport.patrol_date >= period[0],
            PatrolReport.patrol_date <= period[1],
        )
        .group_by(PatrolFinding.segment_id, year, month, PatrolFinding.category, PatrolFinding.status)
    ).all()


def build_committee_report(organization: Organization, *, period: tuple[date, date]) -> CommitteeReport:
    """Compute the view (the caller has checked that the user may see the subtree)."""
    report = CommitteeReport(organization=organization, period=period)
    ids = segments_in(organization)
    cells: dict[tuple[int, str], dict] = defaultdict(
        lambda: {"planned": 0, "done": 0, "minutes": 0, "category": {}, "status": {}}
    )
    for segment_id, year, month, planned, done in _patrol_counts(ids, period):
        cell = cells[(segment_id, month_key(year, month))]
        cell["planned"], cell["done"] = int(planned), int(done or 0)
    for segment_id, year, month, minutes in _verified_minutes(ids, period):
        cells[(segment_id, month_key(year, month))]["minutes"] = int(minutes or 0)
    for segment_id, year, month, category, status, count in _finding_counts(ids, period):
        cell = cells[(segment_id, month_key(year, month))]
        cell["category"][category] = cell["category"].get(category, 0) + int(count)
        cell["status"][status] = cell["status"].get(status, 0) + int(count)
        report.matrix[(category, status)] = report.matrix.get((category, status), 0) + int(count)
    segments = {
        s.id: s
        for s in db.session.scalars(
            select(RiverSegment)
            .options(joinedload(RiverSegment.town), joinedload(RiverSegment.team))
            .where(RiverSegment.id.in_({segment_id for segment_id, _m in cells} or {-1}))
        )
    }
    report.segments = db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    for (segment_id, month), cell in cells.items():
        if not (cell["planned"] or cell["done"] or cell["minutes"] or cell["status"]):
            continue
        report.rows.append(
            SegmentMonth(
                segment=segments[segment_id],
                month=month,
                planned=cell["planned"],
                done=cell["done"],
                minutes=cell["minutes"],
                by_category=cell["category"],
                by_status=cell["status"],
            )
        )
    report.rows.sort(key=lambda r: (r.segment.river_name, r.segment.name, r.segment.id, r.month))
    return report


def write_committee_xlsx(report: CommitteeReport) -> bytes:
    """The view as an .xlsx workbook: one row per segment and month, then findings by category and status."""
    spreadsheet = Spreadsheet()
    categories, statuses = list(CATEGORY_LABELS), list(STATUS_LABELS)
    summary = spreadsheet.add_sheet(_("Summary"))
    summary.append([_("Organization"), report.organization.name])
    summary.append([_("From"), report.period[0]])
    summary.append([_("To"), report.period[1]])
    summary.append([_("Segments"), report.segments])
    summary.append([_("Patrols planned"), report.planned])
    summary.append([_("Patrols done"), report.done])
    summary.append([_("Verified patrol hours"), report.hours])
    summary.append([_("Findings"), report.findings])
    summary.append([_("Hours are verified service hours of the patrols, from the hours ledger.")])
    rows = spreadsheet.add_sheet(_("Patrols"))
    rows.append(
        [
            _("River"),
            _("Segment"),
            _("Town or street"),
            _("Adopting team"),
            _("Month"),
            _("Patrols planned"),
            _("Patrols done"),
            _("Verified patrol hours"),
            _("Findings"),
        ]
        + [str(STATUS_LABELS[s]) for s in statuses]
        + [str(CATEGORY_LABELS[c]) for c in categories]
    )
    for row in report.rows:
        segment = row.segment
        rows.append(
            [
                segment.river_name,
                segment.name,
                segment.town.name,
                segment.team.name,
                row.month,
                row.planned,
                row.done,
                row.hours,
                row.findings,
            ]
            + [row.by_status.get(s, 0) for s in statuses]
            + [row.by_category.get(c, 0) for c in categories]
        )
    matrix = spreadsheet.add_sheet(_("Findings"))
    matrix.append([_("Category")] + [str(STATUS_LABELS[s]) for s in statuses] + [_("Total")])
    for category in categories:
        matrix.append(
            [str(CATEGORY_LABELS[category])]
            + [report.matrix.get((category, s), 0) for s in statuses]
            + [report.category_total(category)]
        )
    return spreadsheet.to_bytes()
