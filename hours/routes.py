"""Volunteer pages of the ledger: my hours, one entry with its history, disputing an entry.

Coordinator and reviewer pages live in review_routes.py, back-filling in backfill_routes.py,
disputes for reviewers, the audit trail and rounding rules in admin_routes.py.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import permissions
from app.errors import DomainError
from app.extensions import db
from app.timeutil import local_today, utcnow
from hours import bp, disputes, ledger
from hours.forms import (
    FLAG_LABELS,
    KIND_LABELS,
    ROUNDING_LABELS,
    STATUS_LABELS,
    CorrectionForm,
    DecisionForm,
    DisputeForm,
)
from hours.models import HourEntry


def user():
    """The acting user as a plain model object."""
    return current_user._get_current_object()


def attach_error(form, exc: DomainError) -> None:
    """Show a service's refusal beside its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [exc.message]
    else:
        form.form_errors.append(exc.message)


def format_minutes(minutes: int | None) -> str:
    """Minutes as hours and minutes ("2 h 30 min"), signed when negative."""
    if minutes is None:
        return ""
    sign = "−" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return sign + _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)


@bp.app_context_processor
def hours_helpers():
    return {"hours_status_label": lambda s: STATUS_LABELS.get(s, s),
            "hours_kind_label": lambda k: KIND_LABELS.get(k, k),
            "hours_flag_label": lambda f: FLAG_LABELS.get(f, f),
            "hours_rounding_label": lambda r: ROUNDING_LABELS.get(r, r), "hm": format_minutes}


def load_entry(entry_id: int) -> HourEntry:
    """An entry the current user may see (404 / 403 otherwise)."""
    entry = db.get_or_404(HourEntry, entry_id)
    if not permissions.can_view_hours_entry(current_user, entry):
        abort(403)
    return entry


@bp.get("/")
@login_required
def my_hours():
    """The volunteer's own hours of a year: verified scan and back-filled totals, every entry with its status."""
    this_year = local_today().year
    year = request.args.get("year", this_year, type=int)
    if not 2000 <= year <= this_year + 1:
        year = this_year
    me = user()
    rows = ledger.entries_of_volunteer(me.id, year=year)
    totals = {"scan": ledger.verified_minutes(me.id, year=year, kind="scan"),
              "backfill": ledger.verified_minutes(me.id, year=year, kind="backfill"),
              "pending": ledger.pending_minutes(me.id, year=year)}
    return render_template("hours/mine.html", year=year, years=range(this_year, this_year - 6, -1), totals=totals,
                           scan_rows=[r for r in rows if r[0].kind == "scan"],
                           backfill_rows=[r for r in rows if r[0].kind == "backfill"],
                           disputes=disputes.disputes_of(me))


def render_entry(entry: HourEntry, *, decision_form=None, correction_form=None, status: int = 200):
    """The entry page, with the forms of a failed action (their errors beside the fields) when given."""
    me = user()
    history = ledger.line_history(entry)
    entry_status = ledger.entry_status(entry)
    return render_template(
        "hours/entry.html", entry=entry, status=entry_status, history=history,
        counted=sum(e.minutes for e, s, _events in history if s == "verified"),
        disputes=disputes.disputes_of_line(entry.line_id),
        can_verify=entry_status == "submitted" and permissions.can_verify_hours(me, entry),
        can_correct=permissions.can_correct_hours(me, entry),
        can_dispute=permissions.can_dispute_hours(me, entry),
        can_see_evidence=entry.evidence is not None and permissions.can_view_evidence(me, entry.evidence),
        decision_form=decision_form or DecisionForm(), correction_form=correction_form or CorrectionForm()), status


@bp.get("/entries/<int:entry_id>")
@login_required
def show_entry(entry_id: int):
    """One entry with its whole line (corrections), every status change, disputes and the actions the user may take."""
    return render_entry(load_entry(entry_id))


@bp.route("/entries/<int:entry_id>/dispute", methods=["GET", "POST"])
@login_required
def dispute_entry(entry_id: int):
    """A volunteer disputes one of their own entries with a message to the reviewers."""
    entry = load_entry(entry_id)
    if not permissions.can_dispute_hours(current_user, entry):
        abort(403)
    form = DisputeForm()
    status = 200
    if form.validate_on_submit():
        try:
            disputes.open_dispute(entry, by=user(), message=form.message.data, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash(_("Your dispute was sent to the reviewers."), "success")
            return redirect(url_for("hours.my_hours", year=entry.service_year))
    if request.method == "POST":
        status = 422
    return render_template("hours/dispute_form.html", entry=entry, form=form), status


from hours import admin_routes, backfill_routes, review_routes  # noqa: E402,F401
