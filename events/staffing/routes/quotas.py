"""Team quota pages: the event coordinator sets quotas and watches each team's fill;
a team's coordinator fills the team's quota from its own members.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.permissions import can_fill_quota, can_manage_event
from app.timeutil import utcnow
from app.web.forms import flash_refusal, form_page, refusal_status, run_action, show_refusal, submit_form
from app.web.inputs import query_int
from app.web.loading import load_or_404
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
    event = load_or_404(Event, event_id, can_manage_event, denied=403)
    form = _quota_form(event)
    return form_page(
        form,
        lambda: quotas.set_quota(
            event,
            position_id=form.position_id.data,
            organization_id=form.organization_id.data,
            quantity=form.quantity.data,
            by=current_user,
            now=utcnow(),
        ),
        success=lambda quota: _(
            "Quota saved: %(team)s provides %(n)s volunteers per shift for %(position)s.",
            team=quota.organization.display_name,
            n=quota.quantity,
            position=quota.position.name,
        ),
        then=lambda _quota: redirect(url_for("events.manage_quotas", event_id=event.id)),
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        render=lambda status: _quotas_page(event, form, status),
    )


def _quotas_page(event: Event, form: QuotaForm, status: int):
    fills = quotas.quota_fills(event, quotas.event_quotas(event))
    return render_template(
        "events/staffing_quotas.html", event=event, form=form, fills=fills, confirm_form=ConfirmForm(formdata=None)
    ), status


@bp.post("/staffing/quotas/<int:quota_id>/remove")
@login_required
def remove_quota(quota_id: int):
    """Remove a team's quota (its volunteers stay on their shifts)."""
    quota = load_or_404(
        TeamQuota, quota_id, lambda user, found: can_manage_event(user, found.position.event), denied=403
    )
    event = quota.position.event
    if not ConfirmForm().validate():
        abort(400)
    name = quota.organization.display_name
    run_action(
        lambda: quotas.remove_quota(quota, by=current_user, now=utcnow()),
        success=_("The quota of %(team)s was removed.", team=name),
        catch=(),  # a refusal goes on to the site's error handler
    )
    return redirect(url_for("events.manage_quotas", event_id=event.id))


def _team_page(event: Event, *, fill_form=None, refused=None, status: int = 200):
    """The team coordinator's page: their quotas' fill, and the members to pick for one shift."""
    mine = quotas.quotas_for_team_coordinator(event, current_user)
    if not mine:
        abort(403)
    fills = quotas.quota_fills(event, mine)
    chosen = selected_shift = members = placed = None
    quota_id, shift_id = request.args.get("quota", type=query_int), request.args.get("shift", type=query_int)
    search = VolunteerSearchForm(formdata=request.args)
    for row in fills:
        if row.quota.id == quota_id:
            chosen = row
            selected_shift = next((f for f in row.shifts if f.shift.id == shift_id), None)
    if chosen is not None and selected_shift is not None:
        search.validate()
        members = quotas.team_members(chosen.quota.organization, text=search.q.data or "", page=search.page.data or 1)
        placed = quotas.team_assignments(selected_shift.shift, chosen.quota.organization)
    on_shift = (
        staffing.live_on_shift(selected_shift.shift, [u.id for u in members.items])
        if members and selected_shift is not None  # members are searched only for a selected shift
        else {}
    )
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
    return _team_page(load_or_404(Event, event_id))


@bp.post("/staffing/quotas/<int:quota_id>/shifts/<int:shift_id>/fill")
@login_required
def fill_quota(quota_id: int, shift_id: int):
    """Place selected team members on a shift of the quota's position, within the quota."""
    quota = load_or_404(TeamQuota, quota_id)
    shift = load_or_404(
        Shift, shift_id, lambda user, _shift: can_fill_quota(user, quota.position, quota.organization), denied=403
    )
    event = quota.position.event
    form = FillQuotaForm()

    def filled(outcome):
        if outcome.refused:
            return _team_page(event, fill_form=form, refused=outcome.refused, status=200 if outcome.assigned else 409)
        return redirect(url_for("events.team_quotas", event_id=event.id, quota=quota.id, shift=shift.id))

    sent = submit_form(
        form,
        lambda: quotas.fill_quota(quota, shift, form.volunteer_ids.data, by=current_user, now=utcnow()),
        success=lambda outcome: (
            _("%(count)s volunteers assigned.", count=len(outcome.assigned)) if outcome.assigned else None
        ),
        then=filled,
        show=lambda exc: (
            show_refusal(form, exc, loose="flash") if isinstance(exc, ValidationFailed) else flash_refusal(exc)
        ),
        status_of=refusal_status,
    )
    return sent.response if sent.saved else _team_page(event, fill_form=form, status=sent.status)
