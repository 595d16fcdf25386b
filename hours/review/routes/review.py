"""Coordinator and reviewer pages: an event's hours review and submission, verification, corrections."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from app import permissions
from app.errors import ValidationFailed
from app.extensions import db
from app.permissions import MANAGER_ROLES, REVIEWER_ROLES, role_required
from app.timeutil import utcnow
from app.web.forms import refusal_status, run_action, submit_form
from app.web.loading import load_or_404
from app.web.pages import acting_user
from events.models import Event
from hours.blueprint import bp
from hours.ledger import services as ledger
from hours.review import verification
from hours.review.entry import load_entry, render_entry
from hours.review.forms import CorrectionForm, DecisionForm, SubmitForm

#: the check-in page where a coordinator sets forgotten check-outs (checkin/coordinator/routes.py)
CHECKIN_FIX_ENDPOINT = "checkin.fix_attendance"


def checkin_fix_url(event: Event) -> str | None:
    """Where the check-in pages let a coordinator set a forgotten check-out (None without the check-in pages)."""
    try:
        return url_for(CHECKIN_FIX_ENDPOINT, event_id=event.id)
    except BuildError:
        return None


def _event_for_coordinator(event_id: int) -> Event:
    return load_or_404(Event, event_id, permissions.can_submit_hours, denied=403)


def _event_for_reviewer(event_id: int) -> Event:
    return load_or_404(Event, event_id, permissions.can_review_hours, denied=403)


@bp.get("/coordinate")
@login_required
@role_required(*MANAGER_ROLES)
def coordinate_hours():
    """The coordinator's events with hours to review: recorded entries or attendance still to fix."""
    return render_template("hours/coordinate.html", events=verification.coordinated_events(acting_user()))


@bp.get("/events/<int:event_id>")
@login_required
def event_hours(event_id: int):
    """An event's hours review for its coordinator: records closed attendance first, then shows exceptions first."""
    event = _event_for_coordinator(event_id)
    ledger.collect_closed_attendances(now=utcnow(), event_id=event.id)
    db.session.commit()  # the ledger's own bookkeeping: idempotent, whoever opens the page
    return render_template(
        "hours/event_review.html",
        event=event,
        review=verification.event_review(event),
        form=SubmitForm(),
        fix_url=checkin_fix_url(event),
        can_backfill=permissions.can_submit_hours(current_user, event),
    )


@bp.post("/events/<int:event_id>/submit")
@login_required
def submit_event_hours(event_id: int):
    """Submit the event's recorded hours for verification: all unflagged, or the chosen entries."""
    event = _event_for_coordinator(event_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    if form.scope.data == "selected" and not form.entry_ids.data:
        flash(_("Choose at least one entry."), "error")
        return redirect(url_for("hours.event_hours", event_id=event.id))
    ids = form.entry_ids.data if form.scope.data == "selected" else None
    run_action(
        lambda: verification.submit_entries(event, by=acting_user(), now=utcnow(), entry_ids=ids),
        success=lambda count: ngettext(
            "%(num)s entry submitted for verification.", "%(num)s entries submitted for verification.", count
        ),
        catch=(),  # a refusal goes on to the site's error handler
    )
    return redirect(url_for("hours.event_hours", event_id=event.id))


@bp.get("/review")
@login_required
@role_required(*REVIEWER_ROLES)
def review_hours():
    """The reviewer's queue: events with submitted hours they may verify."""
    return render_template("hours/review_queue.html", queue=verification.review_queue(acting_user()))


def _render_review(event: Event, form: DecisionForm, status: int = 200):
    rows = verification.submitted_rows(event, acting_user())
    return render_template(
        "hours/review_event.html",
        event=event,
        form=form,
        scan_rows=[r for r in rows if r.entry.kind == "scan"],
        backfill_rows=[r for r in rows if r.entry.kind == "backfill"],
    ), status


@bp.get("/review/events/<int:event_id>")
@login_required
def review_event(event_id: int):
    """An event's submitted hours for a reviewer, scan and back-filled apart; entries they may not decide are marked."""
    event = _event_for_reviewer(event_id)
    return _render_review(event, DecisionForm())


@bp.post("/review/events/<int:event_id>")
@login_required
def decide_event_hours(event_id: int):
    """Verify or reject the chosen entries of an event (a rejection needs a reason)."""
    event = _event_for_reviewer(event_id)
    form = DecisionForm()

    def decided(counts: tuple[int, int]) -> str:
        done, _skipped = counts
        if form.decision.data == "verify":
            return ngettext("%(num)s entry verified.", "%(num)s entries verified.", done)
        return ngettext("%(num)s entry rejected.", "%(num)s entries rejected.", done)

    def back(counts: tuple[int, int]):
        _done, skipped = counts
        if skipped:
            flash(
                ngettext(
                    "%(num)s entry was left for another reviewer: you recorded, submitted or served it, or it "
                    "needs a higher level.",
                    "%(num)s entries were left for another reviewer: you recorded, "
                    "submitted or served them, or they need a higher level.",
                    skipped,
                ),
                "warning",
            )
        return redirect(url_for("hours.review_event", event_id=event.id))

    sent = submit_form(
        form,
        lambda: verification.decide_event_entries(
            event,
            form.entry_ids.data or [],
            verify=form.decision.data == "verify",
            by=acting_user(),
            now=utcnow(),
            reason=form.reason.data or "",
        ),
        success=decided,
        then=back,
        raise_statuses=(403,),
    )
    return sent.response if sent.saved else _render_review(event, form, 422)


@bp.post("/entries/<int:entry_id>/decide")
@login_required
def decide_entry(entry_id: int):
    """Verify or reject one submitted entry (a rejection needs a reason)."""
    entry = load_entry(entry_id, permissions.can_verify_hours)
    form = DecisionForm()

    def decide():
        if form.decision.data == "verify":
            return verification.verify_entry(entry, by=acting_user(), now=utcnow())
        return verification.reject_entry(entry, by=acting_user(), now=utcnow(), reason=form.reason.data or "")

    sent = submit_form(
        form,
        decide,
        success=lambda _decided: _("Entry verified.") if form.decision.data == "verify" else _("Entry rejected."),
        then=lambda _decided: redirect(url_for("hours.show_entry", entry_id=entry.id)),
        raise_statuses=(403,),
        status_of=refusal_status,
    )
    return sent.response if sent.saved else render_entry(entry, decision_form=form, status=sent.status)


@bp.post("/entries/<int:entry_id>/correct")
@login_required
def correct_entry(entry_id: int):
    """Correct a line to a new total, or reverse it: one delta entry that another reviewer verifies."""
    entry = load_entry(entry_id, permissions.can_correct_hours)
    form = CorrectionForm()

    def correct():
        if form.decision.data == "reverse":
            return ledger.reverse_entry(entry, by=acting_user(), now=utcnow(), reason=form.reason.data)
        if form.minutes.data is None:
            raise ValidationFailed(_("Enter the corrected total in minutes."), code="minutes_required", field="minutes")
        return ledger.correct_entry(
            entry, minutes=form.minutes.data, by=acting_user(), now=utcnow(), reason=form.reason.data
        )

    sent = submit_form(
        form,
        correct,
        success=_("Correction submitted; another reviewer verifies it."),
        then=lambda made: redirect(url_for("hours.show_entry", entry_id=made.id)),
        raise_statuses=(403,),
        status_of=refusal_status,
    )
    return sent.response if sent.saved else render_entry(entry, correction_form=form, status=sent.status)
