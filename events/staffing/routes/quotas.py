"""Team quota pages: the event coordinator sets quotas and watches each team's fill;
a team's coordinator fills the team's quota from its own members.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.permissions import can_fill_quota, can_manage_event
from app.timeutil import utcnow
from events.blueprint import bp
from events.models import Event, Shift, TeamQuota
from events.staffing import quotas
from events.staffing import services as staffing
from events.staffing.forms import (
    STATUS_LABELS,
    ConfirmForm,
    FillQuotaForm,
    QuotaForm,
    VolunteerSearchForm,
    attach_error,
)
from volunteers.accounts.services import organization_choices


def _quota_form(event: Event, formdata=None) -> QuotaForm:
    form = QuotaForm(formdata=formdata) if formdata is not None else QuotaForm()
    form.position_id.choices = staffing.event_positions(event)
    form.organization_id.choices = organization_choices()
    return form


@bp.route("/<int:event_id>/staffing/quotas", methods=["GET", "POST"])
@login_required
def manage_quotas(event_id: int):
    """The event's team quotas with each team's fill per shift; set or change a quota."""
    event = db.get_or_404(Event, event_id)
    if not can_manage_event(current_user, event):
        abort(403)
    form = _quota_form(event)
    status = 200
    if form.validate_on_submit():
        try:
            quota = quotas.set_quota(
                event,
                position_id=form.position_id.data,
                organization_id=form.organization_id.data,
                quantity=form.quantity.data,
                by=current_user,
                now=utcnow(),
            )
        except ValidationFailed as exc:
            db.session.rollback()
            attach_error(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(
                _(
                    "Quota saved: %(team)s provides %(n)s volunteers per shift for %(position)s.",
                    team=quota.organization.display_name,
                    n=quota.quantity,
                    position=quota.position.name,
                ),
                "success",
            )
            return redirect(url_for("events.manage_quotas", event_id=event.id))
    elif request.method == "POST":
        status = 422
    fills = quotas.quota_fills(event, quotas.event_quotas(event))
    return render_template(
        "events/staffing_quotas.html", event=event, form=form, fills=fills, confirm_form=ConfirmForm(formdata=None)
    ), status


@bp.post("/staffing/quotas/<int:quota_id>/remove")
@login_required
def remove_quota(quota_id: int):
    """Remove a team's quota (its volunteers stay on their shifts)."""
    quota = db.get_or_404(TeamQuota, quota_id)
    event = quota.position.event
    if not can_manage_event(current_user, event):
        abort(403)
    if not ConfirmForm().validate():
        abort(400)
    name = quota.organization.display_name
    quotas.remove_quota(quota, by=current_user, now=utcnow())
    db.session.commit()
    flash(_("The quota of %(team)s was removed.", team=name), "success")
    return redirect(url_for("events.manage_quotas", event_id=event.id))


def _team_page(event: Event, *, fill_form=None, refused=None, status: int = 200):
    """The team coordinator's page: their quotas' fill, and the members to pick for one shift."""
    mine = quotas.quotas_for_team_coordinator(event, current_user)
    if not mine:
        abort(403)
    fills = quotas.quota_fills(event, mine)
    chosen = selected_shift = members = placed = None
    quota_id, shift_id = request.args.get("quota", type=int), request.args.get("shift", type=int)
    search = VolunteerSearchForm(formdata=request.args)
    for row in fills:
        if row.quota.id == quota_id:
            chosen = row
            selected_shift = next((f for f in row.shifts if f.shift.id == shift_id), None)
    if chosen is not None and selected_shift is not None:
        search.validate()
        members = quotas.team_members(chosen.quota.organization, text=search.q.data or "", page=search.page.data or 1)
        placed = quotas.team_assignments(selected_shift.shift, chosen.quota.organization)
    on_shift = staffing.live_on_shift(selected_shift.shift, [u.id for u in members.items]) if members else {}
    return render_template(
        "events/staffing_team.html",
        event=event,
        fills=fills,
        chosen=chosen,
        selected=selected_shift,
        members=members,
        placed=placed or [],
        on_shift=on_shift,
        search=search,
        fill_form=fill_form or FillQuotaForm(formdata=None),
        refused=refused or [],
        status_labels=STATUS_LABELS,
    ), status


@bp.get("/<int:event_id>/staffing/team")
@login_required
def team_quotas(event_id: int):
    """A team's quotas in the event, its fill per shift, and its members to place."""
    event = db.get_or_404(Event, event_id)
    return _team_page(event)


@bp.post("/staffing/quotas/<int:quota_id>/shifts/<int:shift_id>/fill")
@login_required
def fill_quota(quota_id: int, shift_id: int):
    """Place selected team members on a shift of the quota's position, within the quota."""
    quota = db.get_or_404(TeamQuota, quota_id)
    shift = db.get_or_404(Shift, shift_id)
    if not can_fill_quota(current_user, quota.position, quota.organization):
        abort(403)
    event = quota.position.event
    form = FillQuotaForm()
    if not form.validate():
        return _team_page(event, fill_form=form, status=422)
    try:
        outcome = quotas.fill_quota(quota, shift, form.volunteer_ids.data, by=current_user, now=utcnow())
    except ValidationFailed as exc:
        db.session.rollback()
        attach_error(form, exc)
        return _team_page(event, fill_form=form, status=422)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _team_page(event, fill_form=form, status=exc.status)
    db.session.commit()
    if outcome.assigned:
        flash(_("%(count)s volunteers assigned.", count=len(outcome.assigned)), "success")
    if outcome.refused:
        return _team_page(event, fill_form=form, refused=outcome.refused, status=200 if outcome.assigned else 409)
    return redirect(url_for("events.team_quotas", event_id=event.id, quota=quota.id, shift=shift.id))
