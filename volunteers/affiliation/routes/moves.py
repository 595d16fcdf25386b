"""Administrators move people in bulk within their subtree; universities hand their graduates over (学社衔接)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import DomainError
from app.extensions import db
from app.permissions import (
    Role,
    can_hand_over_graduates,
    can_move_volunteers,
    can_view_handover_rates,
    role_required,
)
from app.timeutil import local_today, utcnow
from app.web.forms import refusal_status, show_refusal, submit_form
from app.web.inputs import query_int
from app.web.loading import load_or_404
from app.web.pages import acting_user
from volunteers.accounts import roles
from volunteers.accounts.services import organization_choices
from volunteers.affiliation import handover, moves, services
from volunteers.affiliation.forms import PeopleFilterForm, PeopleMoveForm
from volunteers.blueprint import admin_bp as bp
from volunteers.organizations.models import Organization
from volunteers.organizations.services import subtree


def _labelled(allowed: set[int]) -> list[tuple[int, str]]:
    return [(org_id, label) for org_id, label in organization_choices() if org_id in allowed]


def _listed_people(filters: PeopleFilterForm, default: Organization | None, may) -> tuple[Organization | None, list]:
    """The organization whose people are listed (the filter's, if the user may, else `default`) and its people."""
    organization = default
    if filters.validate() and filters.organization.data:
        chosen = db.session.get(Organization, filters.organization.data)
        if chosen is None or not may(chosen):
            abort(404)
        organization = chosen
    if organization is None:
        return None, []
    people = list(db.session.scalars(moves.people_query(organization, name=filters.name.data or "")))
    return organization, people


@bp.route("/affiliation/move", methods=["GET", "POST"])
@login_required
@role_required(Role.ADMIN.value)
def move_people():
    """Move chosen people of an organization in the administrator's subtree to another one in it, all at once."""
    admin = acting_user()
    administered = roles.administered_organizations(admin)
    choices = _labelled({org.id for org in administered})
    filters = PeopleFilterForm(request.args)
    filters.organization.choices = choices
    organization, people = _listed_people(
        filters, administered[0] if administered else None, lambda org: can_move_volunteers(admin, org)
    )
    form = PeopleMoveForm()
    form.to_organization_id.choices = [(None, _("Choose…")), *choices]
    done = submit_form(
        form,
        lambda: moves.move_volunteers(
            form.volunteer_ids.data or [], form.to_organization_id.data, by=admin, now=utcnow(), note=form.note.data
        ),
        success=lambda changes: _("%(n)s people moved.", n=len(changes)),
        then=lambda _changes: redirect(request.full_path),
        catch=DomainError,
        show=lambda exc: show_refusal(form, exc, field="volunteer_ids"),
        status_of=refusal_status,
    )
    if done.saved:
        return done.response
    chosen = set(form.volunteer_ids.data or [])
    return render_template(
        "volunteers/affiliation/move.html",
        form=form,
        filters=filters,
        organization=organization,
        people=people,
        chosen=chosen,
        pending=moves.pending_of([person.id for person in people]),
        list_limit=moves.LIST_LIMIT,
    ), done.status


def _year() -> int:
    year = request.args.get("year", type=query_int)
    this_year = local_today().year
    return year if year is not None and 2000 <= year <= this_year + 1 else this_year


@bp.get("/affiliation/handover")
@login_required
@role_required(Role.REVIEWER.value, Role.ADMIN.value)
def handover_rates():
    """Each university's graduates handed over and accepted elsewhere, against the plan's 85 % target."""
    year = _year()
    return render_template(
        "volunteers/affiliation/rates.html",
        year=year,
        rates=handover.handover_rates(handover.visible_universities(acting_user()), year=year),
        target=handover.TARGET_PERCENT,
    )


@bp.route("/affiliation/handover/<int:university_id>", methods=["GET", "POST"])
@login_required
def hand_over_graduates(university_id: int):
    """One university: its hand-over rate, its graduates to hand over, and what became of the hand-overs."""
    university = load_or_404(Organization, university_id, can_view_handover_rates, denied=403)
    may_hand_over = can_hand_over_graduates(current_user, university)
    if request.method == "POST" and not may_hand_over:
        abort(403)
    admin = acting_user()
    filters = PeopleFilterForm(request.args)
    inside = {org.id for org in subtree(university)}
    filters.organization.choices = _labelled(inside)
    _organization, people = _listed_people(filters, university, lambda org: org.is_within(university))
    form = PeopleMoveForm()
    form.submit.label.text = _("Hand over")
    outside = [(org_id, label) for org_id, label in organization_choices() if org_id not in inside]
    form.to_organization_id.choices = [(None, _("Choose…")), *outside]
    done = submit_form(
        form,
        lambda: moves.hand_over_graduates(
            university,
            form.volunteer_ids.data or [],
            form.to_organization_id.data,
            by=admin,
            now=utcnow(),
            note=form.note.data,
        ),
        success=lambda changes: _("%(n)s graduates handed over; the receiving organization decides.", n=len(changes)),
        then=lambda _changes: redirect(request.full_path),
        catch=DomainError,
        show=lambda exc: show_refusal(form, exc, field="volunteer_ids"),
        status_of=refusal_status,
    )
    if done.saved:
        return done.response
    year = _year()
    [rate] = handover.handover_rates([university], year=year)
    return render_template(
        "volunteers/affiliation/handover.html",
        university=university,
        may_hand_over=may_hand_over,
        form=form,
        filters=filters,
        people=people,
        chosen=set(form.volunteer_ids.data or []),
        pending=moves.pending_of([person.id for person in people]),
        list_limit=moves.LIST_LIMIT,
        recent=handover.recent_handovers(university),
        rate=rate,
        year=year,
        target=handover.TARGET_PERCENT,
        status_label=services.status_label,
    ), done.status
