"""Recording a membership applicant's ideology evaluation and a committee's verification of eligibility.

Both are services: they take the acting user and `now`, check permissions again, flush and never
commit, and write the audit trail. Nobody evaluates or verifies themselves. An approval is
refused unless all four conditions hold (hours/membership/progress.py), with what is missing; a decision
"not approved" may be recorded at any time, with a reason.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit, permissions
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from hours.membership.models import EligibilityVerification, IdeologyEvaluation
from hours.membership.progress import ACTIVIST, Progress, progress_of
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

NOTE_MAX = 1000


def _check_actor(applicant: User, by: User) -> None:
    if by.id == applicant.id:
        raise PermissionDenied(
            _("Nobody evaluates or verifies their own membership application."), code="own_application"
        )
    if not permissions.can_assess_applicant(by, applicant):
        raise PermissionDenied(_("This applicant is outside your organizations."), code="outside_subtree")
    if applicant.political_status != ACTIVIST:
        raise ValidationFailed(
            _("%(name)s is not a membership applicant (入团积极分子).", name=applicant.name), code="not_applicant"
        )


def _clean_note(note: str | None, *, required: bool, message: str) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationFailed(message, code="note_required", field="note")
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            _("Keep the note under %(max)s characters.", max=NOTE_MAX), code="note_too_long", field="note"
        )
    return note


def record_evaluation(applicant: User, *, passed: bool, note: str, by: User, now: datetime) -> IdeologyEvaluation:
    """Record the result of the applicant's ideology evaluation (思政考评); the latest result counts."""
    _check_actor(applicant, by)
    note = _clean_note(note, required=not passed, message=_("Say why the evaluation was not passed."))
    evaluation = IdeologyEvaluation(
        applicant_id=applicant.id,
        passed=passed,
        note=note,
        recorded_by_id=by.id,
        recorded_at=now,
        organization_id=applicant.organization_id,
    )
    db.session.add(evaluation)
    db.session.flush()
    audit.record(
        "membership.evaluate",
        actor=by,
        now=now,
        target=evaluation,
        organization_id=applicant.organization_id,
        after={"applicant_id": applicant.id, "passed": passed},
        note=note,
    )
    return evaluation


def deciding_organization(by: User, applicant: User) -> Organization:
    """The verifier's nearest organization at or above the applicant's affiliation where they hold a staff role."""
    path = next(
        p for p in permissions.granted_paths(by, permissions.STAFF_ROLES) if applicant.organization.path.startswith(p)
    )
    organization = db.session.get(Organization, int(path.strip("/").split("/")[-1]))
    assert organization is not None  # a role is granted at an existing organization's path
    return organization


def missing_message(progress: Progress) -> str:
    """What an applicant still lacks, as one readable sentence list."""
    return " ".join(describe_missing(progress))


def describe_missing(progress: Progress) -> list[str]:
    """One readable line per unmet condition, saying exactly what is missing."""
    lines = []
    c = progress.conditions
    if not c["months"].met:
        if progress.activist_since is None:
            lines.append(_("No date of becoming an activist is recorded."))
        else:
            reached_on = progress.months_reached_on
            assert reached_on is not None  # known whenever the activist date is
            lines.append(
                _(
                    "%(months)s of %(required)s months since becoming an activist; the %(required)s months "
                    "are complete on %(date)s.",
                    months=progress.months,
                    required=progress.rules.min_months,
                    date=reached_on.isoformat(),
                )
            )
    if not c["theory"].met:
        lines.append(
            _(
                "%(missing)s more theory class hours needed (%(done)s of %(required)s).",
                missing=c["theory"].remaining,
                done=c["theory"].value,
                required=progress.rules.min_theory_hours,
            )
        )
    if not c["service"].met:
        lines.append(
            _(
                "%(missing)s more verified service hours needed in %(year)s (%(done)s of %(required)s).",
                missing=c["service"].remaining,
                year=progress.period.label,
                done=c["service"].value,
                required=progress.rules.min_service_hours,
            )
        )
    if not c["evaluation"].met:
        if progress.evaluation_passed is None:
            lines.append(_("No ideology evaluation is recorded yet."))
        else:
            lines.append(_("The latest ideology evaluation was not passed."))
    return lines


def verify_eligibility(
    applicant: User, *, approved: bool, note: str, by: User, now: datetime
) -> EligibilityVerification:
    """Record the committee's own decision on the applicant's eligibility, with what it saw; audited."""
    _check_actor(applicant, by)
    note = _clean_note(note, required=not approved, message=_("Give the reason for not approving."))
    progress = progress_of(applicant, now=now)
    if approved and not progress.ready:
        raise ValidationFailed(
            _("Not all conditions are met: %(missing)s", missing=missing_message(progress)),
            code="conditions_missing",
            details={"missing": progress.missing},
        )
    organization = deciding_organization(by, applicant)
    latest_id = _latest_verification_id(applicant)
    latest = db.session.get(EligibilityVerification, latest_id) if latest_id is not None else None
    if approved and latest is not None and latest.approved and latest.organization_id == organization.id:
        raise Conflict(
            _("%(org)s has already approved this applicant.", org=organization.display_name), code="already_approved"
        )
    evaluation_id = db.session.scalar(
        select(func.max(IdeologyEvaluation.id)).where(IdeologyEvaluation.applicant_id == applicant.id)
    )
    verification = EligibilityVerification(
        applicant_id=applicant.id,
        verified_by_id=by.id,
        organization_id=organization.id,
        verified_at=now,
        approved=approved,
        note=note,
        activist_since=applicant.activist_since,
        months=progress.months,
        theory_minutes=progress.theory_minutes,
        service_minutes=progress.service_minutes,
        period_start=progress.period.start,
        period_end=progress.period.end,
        evaluation_id=evaluation_id,
    )
    db.session.add(verification)
    db.session.flush()
    audit.record(
        "membership.verify",
        actor=by,
        now=now,
        target=verification,
        organization_id=organization.id,
        before={"approved": latest.approved} if latest is not None else None,
        after={
            "applicant_id": applicant.id,
            "approved": approved,
            "months": progress.months,
            "theory_minutes": progress.theory_minutes,
            "service_minutes": progress.service_minutes,
            "period": progress.period.label,
            "missing": progress.missing,
        },
        note=note,
    )
    return verification


def _latest_verification_id(applicant: User) -> int | None:
    return db.session.scalar(
        select(func.max(EligibilityVerification.id)).where(EligibilityVerification.applicant_id == applicant.id)
    )
