"""River segments, their patrol schedules and upcoming patrols: list, detail, team page, create and edit."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.errors import DomainError
from app.extensions import db
from app.models import Organization, OrgKind
from app.permissions import (
    can_create_segments,
    can_manage_segment,
    can_run_checkin,
    can_view_segments,
)
from app.timeutil import utcnow
from events.forms import WEEKDAY_LABELS, attach_problems
from patrols import bp, browse, schedules, segments
from patrols.forms import ScheduleForm, SegmentForm
from patrols.geometry import sketch
from patrols.models import PatrolSchedule, RiverSegment


def _user():
    return current_user._get_current_object()


def _require_viewer() -> None:
    if not can_view_segments(current_user):
        abort(403)


def _managed_segment(segment_id: int) -> RiverSegment:
    segment = db.get_or_404(RiverSegment, segment_id)
    if not can_manage_segment(current_user, segment):
        abort(403)
    return segment


def _attach_error(form, exc: DomainError) -> None:
    """Show a service's refusal beside its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [exc.message]
    else:
        form.form_errors.append(exc.message)


def _segment_form(segment: RiverSegment | None = None) -> SegmentForm:
    form = SegmentForm()
    form.set_choices(browse.town_choices(), browse.team_choices(current_user, segment.team if segment else None))
    return form


def _to_segment(segment_id: int):
    return redirect(url_for("patrols.show_segment", segment_id=segment_id))


@bp.get("/")
@login_required
def list_segments():
    """Every river segment, filtered by town, team or river."""
    _require_viewer()
    filters = browse.SegmentFilters(town_id=request.args.get("town", type=int),
                                    team_id=request.args.get("team", type=int),
                                    river=(request.args.get("river") or "").strip()[:60])
    pager = browse.list_segments(filters, page=request.args.get("page", 1, type=int))
    args = {"town": filters.town_id, "team": filters.team_id, "river": filters.river or None}
    return render_template("patrols/list.html", pager=pager, filters=filters, choices=browse.filter_choices(),
                           can_create=can_create_segments(current_user),
                           page_url=lambda n: url_for("patrols.list_segments", page=n, **args))


@bp.get("/segments/<int:segment_id>")
@login_required
def show_segment(segment_id: int):
    """A segment: its sketch, facts, schedules and upcoming patrols (with sign-up), and its reports."""
    _require_viewer()
    segment = db.get_or_404(RiverSegment, segment_id)
    now = utcnow()
    event = segment.event
    return render_template(
        "patrols/segment.html", segment=segment, drawing=sketch(segment.points), now=now,
        schedules=browse.schedules_of(segment), patrols=browse.upcoming_patrols(segment, _user(), now=now),
        can_manage=can_manage_segment(current_user, segment),
        can_run_checkin=event is not None and can_run_checkin(current_user, event),
        weekday_labels=WEEKDAY_LABELS, window=schedules.local_window_label)


@bp.get("/teams/<int:team_id>")
@login_required
def team_segments(team_id: int):
    """The segments a volunteer team adopts."""
    _require_viewer()
    team = db.get_or_404(Organization, team_id)
    if team.kind != OrgKind.TEAM.value:
        abort(404)
    return render_template("patrols/team.html", team=team, segments=browse.team_segments(team))


@bp.route("/segments/new", methods=["GET", "POST"])
@login_required
def create_segment():
    """Create a river segment adopted by a team the coordinator coordinates."""
    if not can_create_segments(current_user):
        abort(403)
    form = _segment_form()
    if request.method == "POST" and form.validate_on_submit():
        data = form.to_data()
        loose = attach_problems(form, segments.segment_problems(data))
        form.form_errors.extend(loose)
        if not form.errors and not loose:
            try:
                segment = segments.create_segment(data, by=_user(), now=utcnow())
            except DomainError as exc:
                db.session.rollback()
                _attach_error(form, exc)
            else:
                db.session.commit()
                flash(_("Segment created. Add a patrol schedule to start patrols."), "success")
                return _to_segment(segment.id)
    status = 200 if request.method == "GET" else 422
    return render_template("patrols/segment_form.html", form=form, segment=None), status


@bp.route("/segments/<int:segment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_segment(segment_id: int):
    """Edit a segment (its points, team, river chief, check-in distance); its patrol event follows."""
    segment = _managed_segment(segment_id)
    form = _segment_form(segment)
    if request.method == "GET":
        form.fill_from(segment)
    elif form.validate_on_submit():
        data = form.to_data()
        loose = attach_problems(form, segments.segment_problems(data, segment))
        form.form_errors.extend(loose)
        if not form.errors and not loose:
            try:
                segments.update_segment(segment, data, by=_user(), now=utcnow())
            except DomainError as exc:
                db.session.rollback()
                _attach_error(form, exc)
            else:
                db.session.commit()
                flash(_("Segment saved."), "success")
                return _to_segment(segment.id)
    status = 200 if request.method == "GET" else 422
    return render_template("patrols/segment_form.html", form=form, segment=segment), status


@bp.route("/segments/<int:segment_id>/schedules/new", methods=["GET", "POST"])
@login_required
def create_schedule(segment_id: int):
    """Add a recurring patrol duty to a segment; its shifts for the next four weeks are created at once."""
    segment = _managed_segment(segment_id)
    form = ScheduleForm()
    if request.method == "GET":
        form.fill_defaults()
    elif form.validate_on_submit():
        data = form.to_data()
        loose = attach_problems(form, schedules.schedule_problems(data))
        form.form_errors.extend(loose)
        if not form.errors and not loose:
            try:
                schedules.create_schedule(segment, data, by=_user(), now=utcnow())
            except DomainError as exc:
                db.session.rollback()
                _attach_error(form, exc)
            else:
                db.session.commit()
                flash(_("Schedule saved; the patrols of the next four weeks are open for sign-up."), "success")
                return _to_segment(segment.id)
    status = 200 if request.method == "GET" else 422
    return render_template("patrols/schedule_form.html", form=form, segment=segment, schedule=None), status


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@login_required
def edit_schedule(schedule_id: int):
    """Change a schedule: empty future patrols follow it; patrols with volunteers stay and the chief is told."""
    schedule = db.get_or_404(PatrolSchedule, schedule_id)
    segment = _managed_segment(schedule.segment_id)
    form = ScheduleForm()
    if request.method == "GET":
        form.fill_from(schedule)
    elif form.validate_on_submit():
        data = form.to_data()
        loose = attach_problems(form, schedules.schedule_problems(data))
        form.form_errors.extend(loose)
        if not form.errors and not loose:
            try:
                change = schedules.update_schedule(schedule, data, by=_user(), now=utcnow())
            except DomainError as exc:
                db.session.rollback()
                _attach_error(form, exc)
            else:
                db.session.commit()
                flash(_("Schedule saved."), "success")
                if change.kept:
                    flash(ngettext("%(num)s upcoming patrol already has volunteers and was left as it was.",
                                   "%(num)s upcoming patrols already have volunteers and were left as they were.",
                                   len(change.kept)), "info")
                return _to_segment(segment.id)
    status = 200 if request.method == "GET" else 422
    return render_template("patrols/schedule_form.html", form=form, segment=segment, schedule=schedule), status
