"""Staffing pages for coordinators: the board, a shift's volunteers, search and assign, move,
unassign, no-shows, the roster export and the sign-in sheet. Team quota pages are in
events/staffing/routes/quotas.py.
"""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.extensions import db
from app.permissions import can_manage_event, can_staff_shift
from app.timeutil import utcnow
from app.web.forms import flash_refusal, refusal_status, run_action, show_refusal, submit_form
from app.web.loading import load_or_404
from events.blueprint import bp
from events.manage import roster
from events.models import Assignment, Event, Position, Shift
from events.signup import services as signup
from events.signup.rules import SignupRefused
from events.staffing import services as staffing
from events.staffing.forms import (
    STATUS_LABELS,
    AssignForm,
    BoardFilterForm,
    ConfirmForm,
    MoveForm,
    UnassignForm,
    VolunteerSearchForm,
)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _managed_event(event_id: int) -> Event:
    """The event, for its coordinators only (403)."""
    return load_or_404(Event, event_id, can_manage_event, denied=403)


def _staffed_shift(shift_id: int) -> Shift:
    """The shift, for those who may staff it only (403)."""
    return load_or_404(Shift, shift_id, can_staff_shift, denied=403)


def _staffed_assignment(assignment_id: int) -> Assignment:
    """The assignment, for those who may staff its shift only (403)."""
    return load_or_404(Assignment, assignment_id, lambda user, found: can_staff_shift(user, found.shift), denied=403)


def _board_filters(event: Event):
    """The filter form of the board, its choices filled from the event."""
    cells = staffing.shift_counts(event)
    positions = staffing.event_positions(event)
    form = BoardFilterForm(formdata=request.args)
    form.fill(staffing.days_of(cells), positions)
    return form, cells, positions


@bp.get("/<int:event_id>/staffing")
@login_required
def staffing_board(event_id: int):
    """The staffing board: positions × shifts by day, coloured by coverage, with filters."""
    event = _managed_event(event_id)
    form, cells, positions = _board_filters(event)
    if form.validate():
        board = staffing.build_board(
            event,
            cells=cells,
            positions=positions,
            day=form.day_value,
            position_id=form.position.data,
            understaffed_only=form.understaffed.data,
        )
        status = 200
    else:
        board = staffing.build_board(event, cells=cells, positions=positions)
        status = 422
    filters = {k: v for k, v in request.args.items() if k in ("day", "position", "understaffed") and v}
    return render_template("events/staffing_board.html", event=event, board=board, form=form, filters=filters), status


def _search(shift: Shift):
    """The volunteer search form of a shift page and its results (None until something is searched)."""
    form = VolunteerSearchForm(formdata=request.args)
    form.fill(staffing.skill_options(), [(o.id, o.display_name) for o in staffing.scope_organizations(current_user)])
    results, on_shift = None, {}
    if form.validate() and form.searched:
        try:
            results = staffing.search_volunteers(
                current_user,
                text=form.q.data or "",
                skill_id=form.skill.data,
                organization_id=form.organization.data,
                page=form.page.data or 1,
            )
        except ValidationFailed as exc:
            show_refusal(form, exc, loose="flash")
        else:
            on_shift = staffing.live_on_shift(shift, [u.id for u in results.items])
    return form, results, on_shift


def _search_args() -> dict:
    return {k: v for k, v in request.args.items() if k in ("q", "skill", "organization", "page") and v}


def _render_shift(shift: Shift, *, assign_form=None, refused=None, unassign_error=None, status: int = 200):
    search_form, results, on_shift = _search(shift)
    assign_form = assign_form or AssignForm(formdata=None)
    shown = {u.id for u in results.items} if results else set()
    shown |= {r.volunteer.id for r in refused or []}
    picked = [i for i in (assign_form.volunteer_ids.data or []) if isinstance(i, int) and i not in shown]
    selected = staffing.visible_volunteers(current_user, picked)
    return render_template(
        "events/staffing_shift.html",
        shift=shift,
        event=shift.event,
        roster=staffing.shift_roster(shift),
        search_form=search_form,
        results=results,
        on_shift=on_shift,
        search_args=_search_args(),
        assign_form=assign_form,
        refused=refused or [],
        selected=selected,
        unassign_form=UnassignForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        unassign_error=unassign_error,
        status_labels=STATUS_LABELS,
        started=utcnow() >= shift.starts_at,
    ), status


@bp.get("/staffing/shifts/<int:shift_id>")
@login_required
def staffing_shift(shift_id: int):
    """A shift's volunteers (assigned, waitlisted), with search and assign."""
    return _render_shift(_staffed_shift(shift_id))


@bp.post("/staffing/shifts/<int:shift_id>/assign")
@login_required
def assign_volunteers(shift_id: int):
    """Assign one or several found volunteers to the shift; refusals list every reason."""
    shift = _staffed_shift(shift_id)
    form = AssignForm()

    def assigned(outcome):
        if outcome.refused:
            form.volunteer_ids.data = [r.volunteer.id for r in outcome.refused]
            status = 200 if outcome.assigned else 409
            return _render_shift(shift, assign_form=form, refused=outcome.refused, status=status)
        return redirect(url_for("events.staffing_shift", shift_id=shift.id, **_search_args()))

    sent = submit_form(
        form,
        lambda: staffing.assign_volunteers(
            shift,
            form.volunteer_ids.data,
            by=current_user,
            now=utcnow(),
            override_rules=form.override_rules.data,
            override_reason=form.override_reason.data or "",
        ),
        success=lambda outcome: (
            _("%(count)s volunteers assigned.", count=len(outcome.assigned)) if outcome.assigned else None
        ),
        then=assigned,
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
    )
    return sent.response if sent.saved else _render_shift(shift, assign_form=form, status=422)


@bp.post("/staffing/assignments/<int:assignment_id>/unassign")
@login_required
def unassign_volunteer(assignment_id: int):
    """Take a volunteer off a shift, with a reason."""
    assignment = _staffed_assignment(assignment_id)
    shift = assignment.shift
    form = UnassignForm()
    sent = submit_form(
        form,
        lambda: signup.unassign(assignment, by=current_user, now=utcnow(), reason=form.reason.data.strip()),
        success=lambda _saved: _("%(name)s was taken off the shift.", name=assignment.user.name),
        then=lambda _saved: redirect(url_for("events.staffing_shift", shift_id=shift.id)),
        show=flash_refusal,
        status_of=lambda exc: exc.status,
    )
    if sent.saved:
        return sent.response
    if sent.refusal is not None:
        return _render_shift(shift, status=sent.status)
    return _render_shift(shift, unassign_error=(assignment.id, form.reason.errors[0]), status=sent.status)


@bp.post("/staffing/assignments/<int:assignment_id>/no-show")
@login_required
def mark_no_show(assignment_id: int):
    """Record that an assigned volunteer did not come."""
    assignment = _staffed_assignment(assignment_id)
    shift = assignment.shift
    if not ConfirmForm().validate():
        abort(400)
    done = run_action(
        lambda: signup.mark_no_show(assignment, by=current_user, now=utcnow()),
        success=lambda _saved: _("%(name)s was marked as a no-show.", name=assignment.user.name),
    )
    if done.refusal is not None:
        return _render_shift(shift, status=done.refusal.status)
    return redirect(url_for("events.staffing_shift", shift_id=shift.id))


@bp.route("/staffing/assignments/<int:assignment_id>/move", methods=["GET", "POST"])
@login_required
def move_assignment(assignment_id: int):
    """Move a volunteer to another shift of the event, through the sign-up rules."""
    assignment = _staffed_assignment(assignment_id)
    shift = assignment.shift
    form = MoveForm()
    form.fill(staffing.move_targets(assignment))

    target: Shift | None = None
    refusal = None

    def move():
        nonlocal target
        target = db.session.get(Shift, form.to_shift_id.data)
        assert target is not None  # the form offers only the move targets
        return staffing.move_assignment(
            assignment,
            target,
            by=current_user,
            now=utcnow(),
            override_rules=form.override_rules.data,
            override_reason=form.override_reason.data or "",
        )

    def show(exc) -> None:
        nonlocal refusal
        if isinstance(exc, SignupRefused):  # shown with every reason the volunteer may not take the shift
            assert target is not None  # set by move(), which raised the refusal
            refusal = staffing.refusal_for(
                target,
                assignment.user,
                exc,
                now=utcnow(),
                ignore=form.override_rules.data,
                exclude_shift_ids=(shift.id,),
            )
        else:
            show_refusal(form, exc, loose="flash")

    sent = submit_form(
        form,
        move,
        success=lambda _moved: _("%(name)s was moved.", name=assignment.user.name),
        then=lambda moved: redirect(url_for("events.staffing_shift", shift_id=moved.shift_id)),
        catch=(SignupRefused, ValidationFailed),
        show=show,
        status_of=refusal_status,
    )
    if sent.saved:
        return sent.response
    return render_template(
        "events/staffing_move.html", assignment=assignment, shift=shift, event=shift.event, form=form, refusal=refusal
    ), sent.status


def _export_filters(event: Event):
    form, _cells, _positions = _board_filters(event)
    if not form.validate():
        raise ValidationFailed(_("Choose a day and a position from the lists."), code="bad_filter")
    position = db.session.get(Position, form.position.data) if form.position.data else None
    return form.day_value, position


@bp.get("/<int:event_id>/staffing/roster.xlsx")
@login_required
def export_roster(event_id: int):
    """The roster of the event (or one day / position) as an Excel file."""
    event = _managed_event(event_id)
    day, position = _export_filters(event)
    data = roster.write_roster(event, day=day, position_id=position.id if position else None)
    size = data.seek(0, 2)
    data.seek(0)
    name = roster.roster_filename(event, day=day, position_id=position.id if position else None)
    return Response(
        roster.file_chunks(data),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size)},
    )


@bp.get("/<int:event_id>/staffing/sign-in-sheet")
@login_required
def sign_in_sheet(event_id: int):
    """A printable sign-in sheet: one table per shift with a signature column."""
    event = _managed_event(event_id)
    day, position = _export_filters(event)
    sheets = roster.sign_in_sheet(event, day=day, position_id=position.id if position else None)
    return render_template("events/sign_in_sheet.html", event=event, sheets=sheets, day=day, position=position)
