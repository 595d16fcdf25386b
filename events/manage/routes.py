"""Coordinator pages: my events, create/edit/publish/cancel events, positions, shifts, bulk shifts."""

from __future__ import annotations

from typing import TypeVar

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.permissions import can_create_events, can_manage_event
from app.timeutil import utcnow
from app.web.forms import attempt, form_page, run_action, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from events.blueprint import bp
from events.labels import EVENT_STATUS_LABELS, WEEKDAY_LABELS
from events.manage import bulk
from events.manage import services as manage
from events.manage import shifts as manage_shifts
from events.manage.forms import EventForm, PositionForm, ShiftForm, bulk_form_for, utc_to_local_naive
from events.models import Event, Position, Shift
from events.signup import browse

Managed = TypeVar("Managed", Event, Position, Shift)

#: rows of the bulk preview listed one by one; the per-day summary covers the rest
PREVIEW_ROWS = 500


def _managed(model: type[Managed], object_id: int) -> Managed:
    """An event, position or shift (404 when missing), for a coordinator of its event only (403)."""
    return load_or_404(
        model,
        object_id,
        lambda user, found: can_manage_event(user, found if isinstance(found, Event) else found.event),
        denied=403,
    )


def _organizer_labels(user) -> list[tuple[int, str]]:
    orgs = browse.organizer_choices(user)
    by_id = {o.id: o for o in orgs}
    return [
        (o.id, f"{by_id[o.parent_id].display_name} › {o.display_name}" if o.parent_id in by_id else o.display_name)
        for o in orgs
    ]


def _event_form(**kwargs) -> EventForm:
    form = EventForm(**kwargs)
    form.organization_id.choices = _organizer_labels(current_user)
    form.grants_credential_type_id.choices = [("", _("None"))] + [
        (c.id, c.name) for c in browse.credential_type_choices()
    ]
    return form


def _to_manage_page(event_id: int):
    return redirect(url_for("events.manage_event", event_id=event_id))


@bp.get("/manage")
@login_required
def manage_events():
    """The coordinator's events: everything organized inside their subtrees, any status."""
    if not can_create_events(current_user):
        abort(403)
    status = request.args.get("status") or None
    if status not in EVENT_STATUS_LABELS:
        status = None
    pager = browse.list_managed_events(current_user, status=status, page=request.args.get("page", 1, type=query_int))
    return render_template(
        "events/manage_list.html",
        pager=pager,
        status=status,
        statuses=EVENT_STATUS_LABELS,
        page_url=lambda n: url_for("events.manage_events", page=n, status=status),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create_event():
    """Create a draft event for an organization the coordinator manages."""
    if not can_create_events(current_user):
        abort(403)
    form = _event_form()
    return form_page(
        form,
        lambda: manage.create_event(form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Event created as a draft. Add positions and shifts, then publish it."),
        then=lambda event: _to_manage_page(event.id),
        template="events/event_form.html",
        event=None,
    )


@bp.get("/<int:event_id>/manage")
@login_required
def manage_event(event_id: int):
    """An event as its coordinator sees it: facts, actions, positions and every shift."""
    event = _managed(Event, event_id)
    from events.signup.routes import chosen_day

    page = browse.event_page(event, viewer=None, pick_day=chosen_day)
    shifts, places, assigned = browse.shift_counts(event)
    return render_template(
        "events/manage_event.html",
        event=event,
        page=page,
        day=page.day,
        shifts=shifts,
        places=places,
        assigned=assigned,
        now=utcnow(),
        has_staffing_board="events.staffing_board" in current_app.view_functions,
    )


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit_event(event_id: int):
    """Edit an event's details; its volunteers are told of a new time or place."""
    event = _managed(Event, event_id)
    form = _event_form()
    if request.method == "GET":
        form.fill_from(event)
    return form_page(
        form,
        lambda: manage.update_event(event, form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Event saved."),
        then=lambda _saved: _to_manage_page(event.id),
        template="events/event_form.html",
        event=event,
    )


def _act(target, event_id: int, action, success: str, **kwargs):
    """Run one service on a managed event, position or shift, then back to the event; a refusal is flashed."""
    run_action(lambda: action(target, by=acting_user(), now=utcnow(), **kwargs), success=success)
    return _to_manage_page(event_id)


@bp.post("/<int:event_id>/publish")
@login_required
def publish_event(event_id: int):
    """Publish a draft event so volunteers can see it and sign up."""
    return _act(_managed(Event, event_id), event_id, manage.publish_event, _("Event published."))


@bp.post("/<int:event_id>/cancel")
@login_required
def cancel_event(event_id: int):
    """Cancel an event; every volunteer on it is freed and told."""
    reason = (request.form.get("reason") or "").strip()[:500]
    return _act(
        _managed(Event, event_id),
        event_id,
        manage.cancel_event,
        _("Event cancelled; its volunteers have been told."),
        reason=reason,
    )


# Positions -----------------------------------------------------------------------------------


def _position_form(**kwargs) -> PositionForm:
    form = PositionForm(**kwargs)
    form.skills.choices = [(s.id, s.name) for s in browse.skill_choices()]
    form.credentials.choices = [(c.id, c.name) for c in browse.credential_type_choices()]
    return form


@bp.route("/<int:event_id>/positions/new", methods=["GET", "POST"])
@login_required
def create_position(event_id: int):
    """Add a position to an event."""
    event = _managed(Event, event_id)
    form = _position_form()
    return form_page(
        form,
        lambda: manage.create_position(event, form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Position added."),
        then=lambda _position: _to_manage_page(event.id),
        template="events/position_form.html",
        event=event,
        position=None,
    )


@bp.route("/positions/<int:position_id>/edit", methods=["GET", "POST"])
@login_required
def edit_position(position_id: int):
    """Edit a position's name, description and requirements."""
    position = _managed(Position, position_id)
    form = _position_form(obj=position if request.method == "GET" else None)
    if request.method == "GET":
        form.skills.data = [s.id for s in position.required_skills]
        form.credentials.data = [c.id for c in position.required_credentials]
    return form_page(
        form,
        lambda: manage.update_position(position, form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Position saved."),
        then=lambda _saved: _to_manage_page(position.event_id),
        template="events/position_form.html",
        event=position.event,
        position=position,
    )


@bp.post("/positions/<int:position_id>/delete")
@login_required
def delete_position(position_id: int):
    """Delete a position nobody is on, with its shifts."""
    position = _managed(Position, position_id)
    return _act(position, position.event_id, manage.delete_position, _("Position deleted."))


# Shifts --------------------------------------------------------------------------------------


@bp.route("/positions/<int:position_id>/shifts/new", methods=["GET", "POST"])
@login_required
def create_shift(position_id: int):
    """Add one shift to a position."""
    position = _managed(Position, position_id)
    form = ShiftForm()
    if request.method == "GET":
        form.starts_at.data = utc_to_local_naive(position.event.starts_at)
        form.ends_at.data = utc_to_local_naive(position.event.ends_at)
        form.capacity.data = 1
    return form_page(
        form,
        lambda: manage_shifts.create_shift(position, form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Shift added."),
        then=lambda _shift: _to_manage_page(position.event_id),
        template="events/shift_form.html",
        position=position,
        shift=None,
    )


@bp.route("/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
@login_required
def edit_shift(shift_id: int):
    """Edit a shift's time, headcount or meeting point."""
    shift = _managed(Shift, shift_id)
    form = ShiftForm()
    if request.method == "GET":
        form.fill_from(shift)
    return form_page(
        form,
        lambda: manage_shifts.update_shift(shift, form.to_data(), by=acting_user(), now=utcnow()),
        success=_("Shift saved."),
        then=lambda _saved: _to_manage_page(shift.event_id),
        template="events/shift_form.html",
        position=shift.position,
        shift=shift,
    )


@bp.post("/shifts/<int:shift_id>/delete")
@login_required
def delete_shift(shift_id: int):
    """Delete a shift nobody is on."""
    shift = _managed(Shift, shift_id)
    return _act(shift, shift.event_id, manage_shifts.delete_shift, _("Shift deleted."))


@bp.post("/shifts/<int:shift_id>/cancel")
@login_required
def cancel_shift(shift_id: int):
    """Cancel a shift; everyone on it is freed and told."""
    shift = _managed(Shift, shift_id)
    return _act(
        shift,
        shift.event_id,
        manage_shifts.cancel_shift,
        _("Shift cancelled; its volunteers have been told."),
        reason=(request.form.get("reason") or "").strip()[:500],
    )


@bp.route("/<int:event_id>/shifts/bulk", methods=["GET", "POST"])
@login_required
def bulk_create_shifts(event_id: int):
    """Create many shifts by pattern: preview first, then save them all in one transaction."""
    event = _managed(Event, event_id)
    form = bulk_form_for(list(event.positions))
    if request.method == "GET":
        form.first_day.data = form.last_day.data = utc_to_local_naive(event.starts_at).date()
        form.position_ids.data = [p.id for p in event.positions]
    plan = None
    if form.validate_on_submit():  # the preview first, also of a save: a refusal shows on the form
        plan = attempt(
            lambda: bulk.plan_bulk_shifts(event, form.to_pattern()), show=lambda exc: show_refusal(form, exc)
        ).result
    saving = plan is not None and request.form.get("action") == "save"
    if saving and plan is not None and str(len(plan.shifts)) != (form.expected_count.data or ""):
        form.form_errors.append(_("The shifts to create have changed since the preview; check it again."))
        saving = False
    if saving:
        created = run_action(
            lambda: bulk.create_bulk_shifts(event, form.to_pattern(), by=acting_user(), now=utcnow()),
            success=lambda saved: _("Shifts created: %(count)s.", count=len(saved.shifts)),
            show=lambda exc: show_refusal(form, exc),
        )
        if created.saved:
            return _to_manage_page(event.id)
        plan = None
    elif plan is not None:
        form.expected_count.data = str(len(plan.shifts))
    status = 200 if request.method == "GET" or (plan is not None and not form.form_errors) else 422
    return render_template(
        "events/bulk_shifts.html",
        form=form,
        event=event,
        plan=plan,
        preview_rows=PREVIEW_ROWS,
        weekday_labels=WEEKDAY_LABELS,
    ), status
