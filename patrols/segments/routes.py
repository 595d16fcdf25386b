"""River segments, their patrol schedules and upcoming patrols: list, detail, team page, create and edit."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.permissions import (
    can_create_segments,
    can_manage_segment,
    can_run_checkin,
    can_view_segments,
)
from app.timeutil import utcnow
from app.web.forms import form_page, refuse_problems
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from events.labels import WEEKDAY_LABELS
from patrols.blueprint import bp
from patrols.segments import browse, schedules
from patrols.segments import services as segments
from patrols.segments.forms import ScheduleForm, SegmentForm
from patrols.segments.geometry import sketch
from patrols.segments.models import PatrolSchedule, RiverSegment
from volunteers.organizations.models import Organization, OrgKind


def _require_viewer() -> None:
    if not can_view_segments(current_user):
        abort(403)


def _managed_segment(segment_id: int) -> RiverSegment:
    return load_or_404(RiverSegment, segment_id, can_manage_segment, denied=403)


def _segment_form(segment: RiverSegment | None = None) -> SegmentForm:
    form = SegmentForm()
    form.set_choices(browse.town_choices(), browse.team_choices(current_user, segment.team if segment else None))
    return form


def _to_segment(segment_id: int):
    return redirect(url_for("patrols.show_segment", segment_id=segment_id))


def _segment_data(form: SegmentForm, segment: RiverSegment | None = None) -> segments.SegmentData:
    """The form's segment, or a refusal naming every problem at once (the service alone stops at the first)."""
    data = form.to_data()
    refuse_problems(segments.segment_problems(data, segment))
    return data


def _schedule_data(form: ScheduleForm) -> schedules.ScheduleData:
    """The form's schedule, or a refusal naming every problem at once (the service alone stops at the first)."""
    data = form.to_data()
    refuse_problems(schedules.schedule_problems(data))
    return data


@bp.get("/")
@login_required
def list_segments():
    """Every river segment, filtered by town, team or river."""
    _require_viewer()
    filters = browse.SegmentFilters(
        town_id=request.args.get("town", type=query_int),
        team_id=request.args.get("team", type=query_int),
        river=(request.args.get("river") or "").strip()[:60],
    )
    pager = browse.list_segments(filters, page=request.args.get("page", 1, type=query_int))
    args: dict[str, Any] = {"town": filters.town_id, "team": filters.team_id, "river": filters.river or None}
    return render_template(
        "patrols/list.html",
        pager=pager,
        filters=filters,
        choices=browse.filter_choices(),
        can_create=can_create_segments(current_user),
        page_url=lambda n: url_for("patrols.list_segments", page=n, **args),
    )


@bp.get("/segments/<int:segment_id>")
@login_required
def show_segment(segment_id: int):
    """A segment: its sketch, facts, schedules and upcoming patrols (with sign-up), and its reports."""
    _require_viewer()
    segment = load_or_404(RiverSegment, segment_id)
    now = utcnow()
    event = segment.event
    return render_template(
        "patrols/segment.html",
        segment=segment,
        drawing=sketch(segment.points),
        now=now,
        schedules=browse.schedules_of(segment),
        patrols=browse.upcoming_patrols(segment, acting_user(), now=now),
        can_manage=can_manage_segment(current_user, segment),
        can_run_checkin=event is not None and can_run_checkin(current_user, event),
        weekday_labels=WEEKDAY_LABELS,
        window=schedules.local_window_label,
    )


@bp.get("/teams/<int:team_id>")
@login_required
def team_segments(team_id: int):
    """The segments a volunteer team adopts."""
    _require_viewer()
    team = load_or_404(Organization, team_id, lambda _user, found: found.kind == OrgKind.TEAM.value)
    return render_template("patrols/team.html", team=team, segments=browse.team_segments(team))


@bp.route("/segments/new", methods=["GET", "POST"])
@login_required
def create_segment():
    """Create a river segment adopted by a team the coordinator coordinates."""
    if not can_create_segments(current_user):
        abort(403)
    form = _segment_form()
    return form_page(
        form,
        lambda: segments.create_segment(_segment_data(form), by=acting_user(), now=utcnow()),
        success=_("Segment created. Add a patrol schedule to start patrols."),
        then=lambda segment: _to_segment(segment.id),
        template="patrols/segment_form.html",
        segment=None,
    )


@bp.route("/segments/<int:segment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_segment(segment_id: int):
    """Edit a segment (its points, team, river chief, check-in distance); its patrol event follows."""
    segment = _managed_segment(segment_id)
    form = _segment_form(segment)
    if request.method == "GET":
        form.fill_from(segment)
    return form_page(
        form,
        lambda: segments.update_segment(segment, _segment_data(form, segment), by=acting_user(), now=utcnow()),
        success=_("Segment saved."),
        then=lambda _saved: _to_segment(segment.id),
        template="patrols/segment_form.html",
        segment=segment,
    )


@bp.route("/segments/<int:segment_id>/schedules/new", methods=["GET", "POST"])
@login_required
def create_schedule(segment_id: int):
    """Add a recurring patrol duty to a segment; its shifts for the next four weeks are created at once."""
    segment = _managed_segment(segment_id)
    form = ScheduleForm()
    if request.method == "GET":
        form.fill_defaults()
    return form_page(
        form,
        lambda: schedules.create_schedule(segment, _schedule_data(form), by=acting_user(), now=utcnow()),
        success=_("Schedule saved; the patrols of the next four weeks are open for sign-up."),
        then=lambda _schedule: _to_segment(segment.id),
        template="patrols/schedule_form.html",
        segment=segment,
        schedule=None,
    )


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@login_required
def edit_schedule(schedule_id: int):
    """Change a schedule: empty future patrols follow it; patrols with volunteers stay and the chief is told."""
    schedule = load_or_404(PatrolSchedule, schedule_id)
    segment = _managed_segment(schedule.segment_id)
    form = ScheduleForm()
    if request.method == "GET":
        form.fill_from(schedule)

    def schedule_saved(change: schedules.ScheduleChange):
        if change.kept:
            flash(
                ngettext(
                    "%(num)s upcoming patrol already has volunteers and was left as it was.",
                    "%(num)s upcoming patrols already have volunteers and were left as they were.",
                    len(change.kept),
                ),
                "info",
            )
        return _to_segment(segment.id)

    return form_page(
        form,
        lambda: schedules.update_schedule(schedule, _schedule_data(form), by=acting_user(), now=utcnow()),
        success=_("Schedule saved."),
        then=schedule_saved,
        template="patrols/schedule_form.html",
        segment=segment,
        schedule=schedule,
    )
