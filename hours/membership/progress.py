"""The membership prerequisite (入团条件): each applicant's progress, and the list a branch or committee reads.

An applicant (political status 入团积极分子) may join the League when all four conditions hold:
1. months: whole calendar months since becoming an activist (User.activist_since) reach
   MEMBERSHIP_MIN_MONTHS (an activist since 31 January has three months on 30 April);
2. theory: pre-membership theory class hours (团前教育) reach MEMBERSHIP_MIN_THEORY_HOURS. They come
   from closed attendances of events of kind "theory_class", each clipped to its shift (the class
   time), summed over the whole cultivation and counted in class hours of
   MEMBERSHIP_CLASS_HOUR_MINUTES minutes. The ledger credits no service hours for those events
   (HOURS_EXCLUDED_EVENT_KINDS), so class time is never counted as service time;
3. service: the ledger's VERIFIED service minutes (scan and back-filled) in the current year reach
   MEMBERSHIP_MIN_SERVICE_HOURS; the year is the calendar year or the school year starting
   1 September (MEMBERSHIP_YEAR_BASIS). Pending and rejected hours never count;
4. evaluation: the applicant's latest ideology evaluation (思政考评) is recorded as passed.

The committee list reads every applicant of a subtree with a fixed number of queries (applicants,
service minutes through the ledger's aggregate query, class attendance, latest evaluations, latest
verifications), whatever the number of applicants.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import Case, ColumnElement, Integer, Select, case, cast, extract, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db
from app.permissions import STAFF_ROLES, role_paths, subtree_filter
from app.timeutil import local_today
from checkin.models import Attendance, AttendanceStatus
from events.models import Event, EventKind, Shift
from hours.ledger.services import verified_minutes, verified_minutes_query
from hours.membership.models import EligibilityVerification, IdeologyEvaluation
from volunteers.accounts.models import PoliticalStatus, User
from volunteers.organizations.models import Organization

#: applicants by id: a list, or a select of their ids
ApplicantIds = list[int] | Select[Any]

ACTIVIST = PoliticalStatus.ACTIVIST.value
THEORY_KIND = EventKind.THEORY_CLASS.value
CONDITIONS = ("months", "theory", "service", "evaluation")
#: list filters: everyone, those who meet all four, those missing one condition, those already approved
STATUS_FILTERS = ("ready", "missing_months", "missing_theory", "missing_service", "missing_evaluation", "approved")
YEAR_BASES = ("calendar", "school")


@dataclass(frozen=True)
class Rules:
    """The configured thresholds and year basis."""

    min_months: int
    min_theory_hours: int
    min_service_hours: int
    basis: str
    class_hour_minutes: int

    @property
    def min_theory_minutes(self) -> int:
        return self.min_theory_hours * self.class_hour_minutes

    @property
    def min_service_minutes(self) -> int:
        return self.min_service_hours * 60


def rules() -> Rules:
    """The thresholds from configuration (MEMBERSHIP_*); a wrong year basis is a configuration error."""
    config = current_app.config
    basis = config.get("MEMBERSHIP_YEAR_BASIS", "calendar")
    if basis not in YEAR_BASES:
        raise RuntimeError(f"MEMBERSHIP_YEAR_BASIS must be one of {YEAR_BASES}, not {basis!r}")
    class_minutes = int(config.get("MEMBERSHIP_CLASS_HOUR_MINUTES", 45))
    if class_minutes <= 0:
        raise RuntimeError("MEMBERSHIP_CLASS_HOUR_MINUTES must be positive")
    return Rules(
        min_months=int(config.get("MEMBERSHIP_MIN_MONTHS", 3)),
        min_theory_hours=int(config.get("MEMBERSHIP_MIN_THEORY_HOURS", 12)),
        min_service_hours=int(config.get("MEMBERSHIP_MIN_SERVICE_HOURS", 20)),
        basis=basis,
        class_hour_minutes=class_minutes,
    )


@dataclass(frozen=True)
class ServicePeriod:
    """The year whose verified service hours count: local dates, inclusive."""

    start: date
    end: date
    basis: str

    @property
    def label(self) -> str:
        return str(self.start.year) if self.basis == "calendar" else f"{self.start.year}–{self.end.year}"


def service_period(today: date, basis: str) -> ServicePeriod:
    """The calendar year of `today`, or the school year (1 September to 31 August) it falls in."""
    if basis == "calendar":
        return ServicePeriod(date(today.year, 1, 1), date(today.year, 12, 31), basis)
    first = today.year if today >= date(today.year, 9, 1) else today.year - 1
    return ServicePeriod(date(first, 9, 1), date(first + 1, 8, 31), basis)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def whole_months(since: date | None, today: date) -> int:
    """Complete calendar months from `since` to `today` (0 when unknown or in the future)."""
    if since is None or since > today:
        return 0
    months = (today.year - since.year) * 12 + today.month - since.month
    while months > 0 and add_months(since, months) > today:
        months -= 1
    return months


def floor_tenth(value: float) -> float:
    """Round down to one decimal, so a total short of a threshold never displays as reaching it."""
    return math.floor(value * 10 + 1e-9) / 10


def ceil_tenth(value: float) -> float:
    return math.ceil(value * 10 - 1e-9) / 10


@dataclass
class Condition:
    """One of the four conditions for one applicant, in display units (months, class hours, hours)."""

    code: str
    met: bool
    value: float
    required: float

    @property
    def remaining(self) -> float:
        return 0.0 if self.met else max(ceil_tenth(self.required - self.value), 0.1)

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return 100 if self.met else min(int(self.value * 100 // self.required), 99)


@dataclass
class Progress:
    """An applicant's standing against the four conditions, and the latest evaluation and verification."""

    applicant_id: int
    name: str
    volunteer_number: str
    organization_id: int
    organization_name: str
    activist_since: date | None
    theory_minutes: int
    service_minutes: int
    evaluation_passed: bool | None
    evaluation_at: datetime | None
    verification_approved: bool | None
    verification_at: datetime | None
    today: date
    period: ServicePeriod
    rules: Rules
    conditions: dict[str, Condition] = field(init=False)

    def __post_init__(self) -> None:
        r = self.rules
        months = whole_months(self.activist_since, self.today)
        self.conditions = {
            "months": Condition(
                "months", self.activist_since is not None and months >= r.min_months, float(months), float(r.min_months)
            ),
            "theory": Condition(
                "theory",
                self.theory_minutes >= r.min_theory_minutes,
                floor_tenth(self.theory_minutes / r.class_hour_minutes),
                float(r.min_theory_hours),
            ),
            "service": Condition(
                "service",
                self.service_minutes >= r.min_service_minutes,
                floor_tenth(self.service_minutes / 60),
                float(r.min_service_hours),
            ),
            "evaluation": Condition(
                "evaluation", bool(self.evaluation_passed), 1.0 if self.evaluation_passed else 0.0, 1.0
            ),
        }

    @property
    def months(self) -> int:
        return int(self.conditions["months"].value)

    @property
    def months_reached_on(self) -> date | None:
        """The day the months condition is (or was) met."""
        return add_months(self.activist_since, self.rules.min_months) if self.activist_since else None

    @property
    def missing(self) -> list[str]:
        return [code for code in CONDITIONS if not self.conditions[code].met]

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def approved(self) -> bool:
        return bool(self.verification_approved)

    def matches(self, status: str | None) -> bool:
        """True when the applicant belongs in the list filtered by `status` (None: everyone)."""
        if not status:
            return True
        if status == "ready":
            return self.ready
        if status == "approved":
            return self.approved
        return status.removeprefix("missing_") in self.missing


# ---- queries ---------------------------------------------------------------------------------


def applicants_query(paths: list[str], organization: Organization | None = None) -> Select:
    """A select of the ids of active applicants affiliated inside the subtrees (and under `organization`)."""
    query = (
        select(User.id)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.political_status == ACTIVIST, User.is_disabled.is_(False), subtree_filter(Organization.path, paths))
    )
    if organization is not None:
        query = query.where(Organization.path.startswith(organization.path, autoescape=True))
    return query


def _class_minutes() -> tuple[ColumnElement[int], Case[datetime], Case[datetime]]:
    """SQL: whole minutes of an attendance inside its shift (the class time); the caller keeps end > start."""
    start = case((Attendance.checked_in_at > Shift.starts_at, Attendance.checked_in_at), else_=Shift.starts_at)
    end = case((Attendance.checked_out_at < Shift.ends_at, Attendance.checked_out_at), else_=Shift.ends_at)
    seconds: ColumnElement[Any]
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = extract("epoch", end - start)
    else:  # SQLite keeps times as text; julianday() reads them
        seconds = (func.julianday(end) - func.julianday(start)) * 86400
    # Round to whole seconds first (julianday is a float), then whole minutes by integer division.
    return cast(func.round(seconds), Integer) // 60, start, end


def theory_minutes_by_applicant(applicant_ids: ApplicantIds) -> dict[int, int]:
    """Class minutes per volunteer: closed attendances of theory classes, each clipped to its shift (one query)."""
    minutes, start, end = _class_minutes()
    rows = db.session.execute(
        select(Attendance.user_id, func.sum(minutes))
        .join(Shift, Shift.id == Attendance.shift_id)
        .join(Event, Event.id == Attendance.event_id)
        .where(
            Event.kind == THEORY_KIND,
            Attendance.status == AttendanceStatus.CLOSED.value,
            Attendance.checked_out_at.is_not(None),
            Attendance.user_id.in_(applicant_ids),
            end > start,
        )
        .group_by(Attendance.user_id)
    )
    return {user_id: int(total or 0) for user_id, total in rows}


def service_minutes_by_applicant(applicant_ids: ApplicantIds, period: ServicePeriod) -> dict[int, int]:
    """Verified service minutes per volunteer in the period: one aggregate query through the ledger."""
    if period.basis == "calendar":
        query = verified_minutes_query(year=period.start.year, volunteer_ids=applicant_ids)
    else:
        query = verified_minutes_query(period=(period.start, period.end), volunteer_ids=applicant_ids)
    return {row.volunteer_id: int(row.minutes or 0) for row in db.session.execute(query)}


def _latest(
    model: type[IdeologyEvaluation] | type[EligibilityVerification],
    applicant_ids: ApplicantIds,
    *columns: InstrumentedAttribute[Any],
) -> dict[int, tuple]:
    latest_ids = select(func.max(model.id)).where(model.applicant_id.in_(applicant_ids)).group_by(model.applicant_id)
    rows = db.session.execute(select(model.applicant_id, *columns).where(model.id.in_(latest_ids)))
    return {row[0]: tuple(row[1:]) for row in rows}


def latest_evaluations(applicant_ids: ApplicantIds) -> dict[int, tuple[bool, datetime]]:
    """(passed, recorded_at) of each applicant's latest ideology evaluation."""
    return _latest(IdeologyEvaluation, applicant_ids, IdeologyEvaluation.passed, IdeologyEvaluation.recorded_at)


def latest_verifications(applicant_ids: ApplicantIds) -> dict[int, tuple[bool, datetime]]:
    """(approved, verified_at) of each applicant's latest eligibility decision."""
    return _latest(
        EligibilityVerification, applicant_ids, EligibilityVerification.approved, EligibilityVerification.verified_at
    )


def progress_for_subtrees(
    paths: list[str], *, now: datetime, organization: Organization | None = None
) -> list[Progress]:
    """Every applicant of the subtrees with their progress, in tree and name order (five queries in all)."""
    current = rules()
    today = local_today(now)
    period = service_period(today, current.basis)
    ids = applicants_query(paths, organization)
    people = db.session.execute(
        select(
            User.id,
            User.name,
            User.volunteer_number,
            User.activist_since,
            Organization.id,
            Organization.name,
            Organization.short_name,
        )
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id.in_(ids))
        .order_by(Organization.path, User.name, User.id)
    ).all()
    if not people:
        return []
    service = service_minutes_by_applicant(ids, period)
    theory = theory_minutes_by_applicant(ids)
    evaluations = latest_evaluations(ids)
    verifications = latest_verifications(ids)
    result = []
    for user_id, name, number, since, org_id, org_name, org_short in people:
        evaluation = evaluations.get(user_id, (None, None))
        verification = verifications.get(user_id, (None, None))
        result.append(
            Progress(
                applicant_id=user_id,
                name=name,
                volunteer_number=number,
                organization_id=org_id,
                organization_name=org_short or org_name,
                activist_since=since,
                theory_minutes=theory.get(user_id, 0),
                service_minutes=service.get(user_id, 0),
                evaluation_passed=evaluation[0],
                evaluation_at=evaluation[1],
                verification_approved=verification[0],
                verification_at=verification[1],
                today=today,
                period=period,
                rules=current,
            )
        )
    return result


def progress_of(applicant: User, *, now: datetime) -> Progress:
    """One volunteer's progress (whatever their political status), from the same sources as the list."""
    current = rules()
    today = local_today(now)
    period = service_period(today, current.basis)
    if period.basis == "calendar":
        service = verified_minutes(applicant.id, year=period.start.year)
    else:
        service = verified_minutes(applicant.id, period=(period.start, period.end))
    ids = [applicant.id]
    evaluation = latest_evaluations(ids).get(applicant.id, (None, None))
    verification = latest_verifications(ids).get(applicant.id, (None, None))
    return Progress(
        applicant_id=applicant.id,
        name=applicant.name,
        volunteer_number=applicant.volunteer_number,
        organization_id=applicant.organization_id,
        organization_name=applicant.organization.display_name,
        activist_since=applicant.activist_since,
        theory_minutes=theory_minutes_by_applicant(ids).get(applicant.id, 0),
        service_minutes=int(service),
        evaluation_passed=evaluation[0],
        evaluation_at=evaluation[1],
        verification_approved=verification[0],
        verification_at=verification[1],
        today=today,
        period=period,
        rules=current,
    )


def eligibility_list(
    viewer: User, *, now: datetime, organization: Organization | None = None, status: str | None = None
) -> tuple[list[Progress], dict[str, int]]:
    """The applicants of the viewer's subtrees, filtered, with how many fall under each filter."""
    everyone = progress_for_subtrees(role_paths(viewer, STAFF_ROLES), now=now, organization=organization)
    counts = {"all": len(everyone)}
    for code in STATUS_FILTERS:
        counts[code] = sum(1 for p in everyone if p.matches(code))
    return [p for p in everyone if p.matches(status)], counts


def evaluations_of(applicant: User) -> list[IdeologyEvaluation]:
    """The applicant's ideology evaluations, newest first."""
    return list(
        db.session.scalars(
            select(IdeologyEvaluation)
            .where(IdeologyEvaluation.applicant_id == applicant.id)
            .order_by(IdeologyEvaluation.id.desc())
        )
    )


def verifications_of(applicant: User) -> list[EligibilityVerification]:
    """The eligibility decisions recorded for the applicant, newest first."""
    return list(
        db.session.scalars(
            select(EligibilityVerification)
            .where(EligibilityVerification.applicant_id == applicant.id)
            .order_by(EligibilityVerification.id.desc())
        )
    )


def theory_class_attendances(applicant: User) -> list[tuple[Event, Attendance, Shift]]:
    """The applicant's closed theory-class attendances, newest first (what the class hours come from)."""
    rows = db.session.execute(
        select(Event, Attendance, Shift)
        .join(Attendance, Attendance.event_id == Event.id)
        .join(Shift, Shift.id == Attendance.shift_id)
        .where(
            Event.kind == THEORY_KIND,
            Attendance.user_id == applicant.id,
            Attendance.status == AttendanceStatus.CLOSED.value,
        )
        .order_by(Attendance.checked_in_at.desc())
    )
    return [tuple(row) for row in rows]
