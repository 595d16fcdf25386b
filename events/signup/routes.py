"""Volunteer-facing event pages: browse, an event with its shifts, sign up, cancel, my shifts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.permissions import can_cancel_own_assignment, can_manage_event, can_view_event
from app.timeutil import to_local, utcnow
from app.web.forms import run_action
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user, is_safe_redirect
from events.blueprint import bp
from events.labels import ASSIGNMENT_STATUS_LABELS, EVENT_STATUS_LABELS, KIND_LABELS
from events.models import Assignment, AssignmentStatus, Event, Shift
from events.signup import browse
from events.signup import services as signup
from events.signup.forms import EventFilterForm

#: above this many shifts over several days, the event page opens on one day at a time
SHIFTS_SHOWN_AT_ONCE = 150


@bp.app_template_filter("event_kind")
def event_kind_label(kind: str) -> str:
    """The readable kind of an event."""
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_filter("event_status")
def event_status_label(status: str) -> str:
    """The readable status of an event."""
    return str(EVENT_STATUS_LABELS.get(status, status))


@bp.app_template_filter("assignment_status")
def assignment_status_label(status: str) -> str:
    """The readable status of an assignment."""
    return str(ASSIGNMENT_STATUS_LABELS.get(status, status))


@bp.get("/")
def list_events():
    """Published events, filtered by date, town, kind and required skill."""
    form = EventFilterForm(request.args)
    form.town_id.choices = [("", _("Any town"))] + [(t.id, t.display_name) for t in browse.town_choices()]
    form.skill_id.choices = [("", _("Any skill"))] + [(s.id, s.name) for s in browse.skill_choices()]
    valid = form.validate()
    filters = (
        browse.EventFilters(
            date_from=form.date_from.data,
            date_to=form.date_to.data,
            town_id=form.town_id.data,
            kind=form.kind.data or None,
            skill_id=form.skill_id.data,
        )
        if valid
        else browse.EventFilters()
    )
    now = utcnow()
    pager = browse.list_published_events(filters, now=now, page=request.args.get("page", 1, type=query_int))
    places = browse.availability([e.id for e in pager.items], now=now)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "events/list.html",
        form=form,
        pager=pager,
        places=places,
        page_url=lambda n: url_for("events.list_events", page=n, **args),
    )


def chosen_day(page_days: list[date], shift_count: int) -> date | None:
    """The day the page shows: ?day=YYYY-MM-DD, everything for ?day=all or small events, else the next day."""
    wanted = request.args.get("day", "")
    if wanted == "all":
        return None
    try:
        day = date.fromisoformat(wanted)
    except ValueError:
        day = None
    if day in page_days:
        return day
    if shift_count <= SHIFTS_SHOWN_AT_ONCE or len(page_days) < 2:
        return None
    today = to_local(utcnow()).date()
    return next((d for d in page_days if d >= today), page_days[-1])


@bp.get("/<int:event_id>")
def show_event(event_id: int):
    """An event with its positions and shifts, open places, and the viewer's own sign-ups."""
    event = load_or_404(Event, event_id, can_view_event)
    now = utcnow()
    page = browse.event_page(event, viewer=current_user, pick_day=chosen_day)
    refusal = session.pop("signup_refusal", None)
    return render_template(
        "events/show.html",
        page=page,
        event=event,
        now=now,
        day=page.day,
        refusal=refusal,
        can_manage=can_manage_event(current_user, event),
        cancellation_deadline=signup.cancellation_deadline,
    )


def _back_to_event(event_id: int, shift_id: int | None = None):
    day = request.form.get("day") or None
    return redirect(
        url_for("events.show_event", event_id=event_id, day=day, _anchor=f"shift-{shift_id}" if shift_id else None)
    )


@bp.post("/shifts/sign-up")
@bp.post("/shifts/<int:shift_id>/sign-up")
@login_required
def sign_up(shift_id: int | None = None):
    """Sign the logged-in volunteer up for a shift (or its waitlist); a refusal is shown beside the shift.

    The event page posts one form per position: the pressed button names the shift as
    `shift_id` (sign up) or `waitlist_shift_id` (join the waitlist).
    """
    join_waitlist = request.form.get("join_waitlist") == "1"
    if shift_id is None:
        shift_id = request.form.get("shift_id", type=query_int)
        if shift_id is None:
            shift_id, join_waitlist = request.form.get("waitlist_shift_id", type=query_int), True
    if shift_id is None:
        abort(400)
    shift = load_or_404(Shift, shift_id, lambda user, found: can_view_event(user, found.event))
    event_id = shift.event_id

    def join() -> bool:
        """Sign up; True when the volunteer landed on the waitlist."""
        assignment = signup.sign_up(shift, acting_user(), now=utcnow(), join_waitlist=join_waitlist)
        return assignment.status == AssignmentStatus.WAITLISTED.value

    done = run_action(
        join,
        success=lambda waitlisted: (
            _("You are on the waitlist; we will tell you if a place frees up.")
            if waitlisted
            else _("You are signed up. Thank you!")
        ),
        catch=signup.SignupRefused,  # shown beside the shift; any other refusal goes to the site's error handler
    )
    refused = done.refusal
    if refused is not None:
        session["signup_refusal"] = {
            "shift_id": shift_id,
            "message": refused.message,
            "code": refused.code,
            "waitlist": bool(refused.details.get("waitlist_available")),
        }
    return _back_to_event(event_id, shift_id)


@bp.post("/assignments/<int:assignment_id>/cancel")
@login_required
def cancel_my_assignment(assignment_id: int):
    """The volunteer cancels their own place (or leaves the waitlist) before the cut-off."""
    assignment = load_or_404(Assignment, assignment_id, can_cancel_own_assignment, denied=403)
    event_id, shift_id = assignment.shift.event_id, assignment.shift_id
    target = request.form.get("next")
    run_action(
        lambda: signup.cancel_assignment(
            assignment, by=acting_user(), now=utcnow(), reason=(request.form.get("reason") or "").strip()[:500]
        ),
        success=_("Your place is cancelled."),
    )
    if is_safe_redirect(target):
        return redirect(target)
    return _back_to_event(event_id, shift_id)


@bp.get("/my-shifts")
@login_required
def my_shifts():
    """The volunteer's own shifts, upcoming and past, with their status and place in any waitlist."""
    now = utcnow()
    upcoming, past = browse.my_shifts(current_user, now=now)
    return render_template(
        "events/my_shifts.html",
        upcoming=upcoming,
        past=past,
        now=now,
        cancellation_deadline=signup.cancellation_deadline,
    )
