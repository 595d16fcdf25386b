"""Volunteer pages of the ledger: my hours, one entry with its history, disputing an entry.

Coordinator and reviewer pages live in hours/review/routes/, back-filling in hours/backfill/routes.py.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app import permissions
from app.timeutil import local_today, utcnow
from app.web.forms import form_page
from app.web.inputs import query_int
from app.web.pages import acting_user
from hours.blueprint import bp
from hours.ledger import services as ledger
from hours.review import disputes
from hours.review.entry import load_entry, render_entry
from hours.review.forms import (
    FLAG_LABELS,
    KIND_LABELS,
    ROUNDING_LABELS,
    STATUS_LABELS,
    DisputeForm,
)


def format_minutes(minutes: int | None) -> str:
    """Minutes as hours and minutes ("2 h 30 min"), signed when negative."""
    if minutes is None:
        return ""
    sign = "−" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return sign + _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)


@bp.app_context_processor
def hours_helpers():
    return {
        "hours_status_label": lambda s: STATUS_LABELS.get(s, s),
        "hours_kind_label": lambda k: KIND_LABELS.get(k, k),
        "hours_flag_label": lambda f: FLAG_LABELS.get(f, f),
        "hours_rounding_label": lambda r: ROUNDING_LABELS.get(r, r),
        "hm": format_minutes,
    }


@bp.get("/")
@login_required
def my_hours():
    """The volunteer's own hours of a year: verified scan and back-filled totals, every entry with its status."""
    this_year = local_today().year
    year = request.args.get("year", this_year, type=query_int)
    if not 2000 <= year <= this_year + 1:
        year = this_year
    me = acting_user()
    rows = ledger.entries_of_volunteer(me.id, year=year)
    totals = {
        "scan": ledger.verified_minutes(me.id, year=year, kind="scan"),
        "backfill": ledger.verified_minutes(me.id, year=year, kind="backfill"),
        "pending": ledger.pending_minutes(me.id, year=year),
    }
    return render_template(
        "hours/mine.html",
        year=year,
        years=range(this_year, this_year - 6, -1),
        totals=totals,
        scan_rows=[r for r in rows if r[0].kind == "scan"],
        backfill_rows=[r for r in rows if r[0].kind == "backfill"],
        disputes=disputes.disputes_of(me),
    )


@bp.get("/entries/<int:entry_id>")
@login_required
def show_entry(entry_id: int):
    """One entry with its whole line (corrections), every status change, disputes and the actions the user may take."""
    return render_entry(load_entry(entry_id))


@bp.route("/entries/<int:entry_id>/dispute", methods=["GET", "POST"])
@login_required
def dispute_entry(entry_id: int):
    """A volunteer disputes one of their own entries with a message to the reviewers."""
    entry = load_entry(entry_id, permissions.can_dispute_hours)
    form = DisputeForm()
    return form_page(
        form,
        lambda: disputes.open_dispute(entry, by=acting_user(), message=form.message.data, now=utcnow()),
        success=_("Your dispute was sent to the reviewers."),
        then=lambda _dispute: redirect(url_for("hours.my_hours", year=entry.service_year)),
        template="hours/dispute_form.html",
        entry=entry,
    )
