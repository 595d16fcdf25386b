"""Hours reports of an organization subtree and a period, their .xlsx export, and a volunteer's year by month.

Only verified hours count (hour_entry_states rows with status "verified"; corrections are
entries of their own and net out in the sums). A report counts either the hours of events
organized inside the subtree ("organizer", what the subtree's reviewers verify) or the hours of
volunteers affiliated inside it wherever they served ("affiliation").

A report is two aggregate queries over the verified rows of the period, whatever its size: one
grouped by event, day and kind of hours, labelled with the events' kind and brand and summed here
into the totals, the kinds, the brands and the months; and one grouped by volunteer (active
volunteers and the top volunteers). On PostgreSQL both read only the covering index
ix_hour_entry_states_status_date (bench/ledger.py measures the city's year).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, desc, extract, func, select

from app.extensions import db
from app.spreadsheets import Spreadsheet
from events.models import Event
from hours.certificates.models import format_hours
from hours.ledger.models import EntryKind, EntryStatus, HourEntryState
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

BASES = ("organizer", "affiliation")
TOP_VOLUNTEERS = 10


@dataclass
class Report:
    """Verified hours of a subtree in a period, ready to show, chart and export."""

    organization: Organization
    period: tuple[date, date]
    basis: str
    total_minutes: int = 0
    scan_minutes: int = 0
    backfill_minutes: int = 0
    active_volunteers: int = 0
    #: (event kind, minutes), most first
    by_kind: list[tuple[str, int]] = field(default_factory=list)
    #: (brand tag, "" for none, minutes), most first
    by_brand: list[tuple[str, int]] = field(default_factory=list)
    #: ("YYYY-MM", minutes) for every month of the period, zeros included
    monthly: list[tuple[str, int]] = field(default_factory=list)
    #: dicts: volunteer_id, name, volunteer_number, organization, minutes
    top_volunteers: list[dict] = field(default_factory=list)

    def chart_data(self) -> dict:
        """The monthly series for charts.js (hours, not minutes)."""
        return {
            "type": "bar",
            "label": _("Verified hours"),
            "labels": [month for month, _m in self.monthly],
            "values": [round(minutes / 60, 2) for _month, minutes in self.monthly],
        }


def _verified_rows(organization: Organization, period: tuple[date, date], basis: str) -> Select:
    """The filter every report query shares: verified rows of the period inside the subtree."""
    if basis not in BASES:
        raise ValueError(f"unknown report basis {basis!r}")
    subtree = select(Organization.id).where(Organization.path.startswith(organization.path, autoescape=True))
    query = (
        select()
        .select_from(HourEntryState)
        .where(
            HourEntryState.status == EntryStatus.VERIFIED.value,
            HourEntryState.service_date >= period[0],
            HourEntryState.service_date <= period[1],
        )
    )
    if basis == "organizer":
        return query.where(HourEntryState.organization_id.in_(subtree))
    affiliated = select(User.id).where(User.organization_id.in_(subtree))
    return query.where(HourEntryState.volunteer_id.in_(affiliated))


def months_between(start: date, end: date) -> list[str]:
    """Every month from start to end inclusive, as "YYYY-MM"."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def build_report(
    organization: Organization, *, period: tuple[date, date], basis: str = "organizer", top: int = TOP_VOLUNTEERS
) -> Report:
    """Compute a report (the caller has checked that the user may see the subtree)."""
    report = Report(organization=organization, period=period, basis=basis)
    base = _verified_rows(organization, period, basis)
    # Sum per event, day and kind of hours first (cheap integer grouping), then label with the event's kind and brand.
    per_event_day = (
        base.add_columns(
            HourEntryState.event_id.label("event_id"),
            HourEntryState.service_date.label("service_date"),
            HourEntryState.kind.label("entry_kind"),
            func.sum(HourEntryState.minutes).label("minutes"),
        )
        .group_by(HourEntryState.event_id, HourEntryState.service_date, HourEntryState.kind)
        .subquery()
    )
    grouped = db.session.execute(
        select(
            Event.kind,
            Event.brand_tag,
            per_event_day.c.service_date,
            per_event_day.c.entry_kind,
            per_event_day.c.minutes,
        ).join(Event, Event.id == per_event_day.c.event_id)
    ).all()
    kinds: dict[str, int] = {}
    brands: dict[str, int] = {}
    monthly = dict.fromkeys(months_between(*period), 0)
    for event_kind, brand, service_date, entry_kind, minutes in grouped:
        minutes = int(minutes or 0)
        report.total_minutes += minutes
        if entry_kind == EntryKind.BACKFILL.value:
            report.backfill_minutes += minutes
        else:
            report.scan_minutes += minutes
        kinds[event_kind] = kinds.get(event_kind, 0) + minutes
        brand = (brand or "").strip()
        brands[brand] = brands.get(brand, 0) + minutes
        key = f"{service_date.year:04d}-{service_date.month:02d}"
        monthly[key] = monthly.get(key, 0) + minutes
    report.by_kind = sorted(((k, m) for k, m in kinds.items() if m), key=lambda item: (-item[1], item[0]))
    report.by_brand = sorted(((b, m) for b, m in brands.items() if m), key=lambda item: (-item[1], item[0]))
    report.monthly = sorted(monthly.items())

    total = func.sum(HourEntryState.minutes)
    per_volunteer = (
        base.add_columns(HourEntryState.volunteer_id.label("volunteer_id"), total.label("minutes"))
        .group_by(HourEntryState.volunteer_id)
        .having(total > 0)
        .subquery()
    )
    # One pass over the volunteers: the leaders, each row also carrying how many volunteers there are.
    leaders = (
        select(per_volunteer.c.volunteer_id, per_volunteer.c.minutes, func.count().over().label("active"))
        .order_by(desc(per_volunteer.c.minutes), per_volunteer.c.volunteer_id)
        .limit(top)
        .subquery()
    )
    rows = db.session.execute(
        select(
            leaders.c.volunteer_id,
            User.name,
            User.volunteer_number,
            Organization.name,
            leaders.c.minutes,
            leaders.c.active,
        )
        .join(User, User.id == leaders.c.volunteer_id)
        .join(Organization, Organization.id == User.organization_id)
        .order_by(desc(leaders.c.minutes), leaders.c.volunteer_id)
    ).all()
    report.active_volunteers = int(rows[0].active) if rows else 0
    report.top_volunteers = [
        {
            "volunteer_id": vid,
            "name": name,
            "volunteer_number": number,
            "organization": org_name,
            "minutes": int(minutes),
        }
        for vid, name, number, org_name, minutes, _active in rows
    ]
    return report


def volunteer_year_by_month(volunteer_id: int, year: int) -> list[int]:
    """A volunteer's verified minutes in each month of a year (twelve numbers)."""
    month = extract("month", HourEntryState.service_date)
    rows = db.session.execute(
        select(month, func.sum(HourEntryState.minutes))
        .where(
            HourEntryState.volunteer_id == volunteer_id,
            HourEntryState.status == EntryStatus.VERIFIED.value,
            HourEntryState.service_year == year,
            HourEntryState.service_date >= date(year, 1, 1),
            HourEntryState.service_date <= date(year, 12, 31),
        )
        .group_by(month)
    ).all()
    minutes = [0] * 12
    for row_month, total in rows:
        minutes[int(row_month) - 1] = int(total or 0)
    return minutes


def write_report(report: Report, kind_labels: dict) -> bytes:
    """The report as an .xlsx workbook (one sheet per table; a few hundred rows at most)."""
    spreadsheet = Spreadsheet()
    summary = spreadsheet.add_sheet(_("Summary"))
    summary.append([_("Organization"), report.organization.name])
    summary.append([_("From"), report.period[0]])
    summary.append([_("To"), report.period[1]])
    summary.append(
        [
            _("Counted"),
            _("Events organized in this organization and below")
            if report.basis == "organizer"
            else _("Volunteers affiliated with this organization and below"),
        ]
    )
    summary.append([_("Verified hours"), float(format_hours(report.total_minutes))])
    summary.append([_("Scan-verified hours"), float(format_hours(report.scan_minutes))])
    summary.append([_("Back-filled hours"), float(format_hours(report.backfill_minutes))])
    summary.append([_("Active volunteers"), report.active_volunteers])
    sheets = (
        (
            _("By kind"),
            [_("Event kind"), _("Hours")],
            [[str(kind_labels.get(kind, kind)), float(format_hours(m))] for kind, m in report.by_kind],
        ),
        (
            _("By brand"),
            [_("Brand"), _("Hours")],
            [[brand or _("No brand"), float(format_hours(m))] for brand, m in report.by_brand],
        ),
        (_("By month"), [_("Month"), _("Hours")], [[month, float(format_hours(m))] for month, m in report.monthly]),
        (
            _("Top volunteers"),
            [_("Rank"), _("Name"), _("Volunteer number"), _("Affiliation"), _("Hours")],
            [
                [rank, v["name"], v["volunteer_number"], v["organization"], float(format_hours(v["minutes"]))]
                for rank, v in enumerate(report.top_volunteers, start=1)
            ],
        ),
    )
    for title, headers, rows in sheets:
        spreadsheet.add_sheet(title, header=headers).extend(rows)
    return spreadsheet.to_bytes()
