"""Coordinator pages of check-in: the event's check-in hub, the badge scanner with its manual fallback,
fixing forgotten check-outs and conflicts, and the live dashboard (page and JSON)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.permissions import can_run_checkin
from app.timeutil import to_local, utcnow
from checkin.blueprint import bp
from checkin.coordinator.dashboard import (
    attendance_to_fix,
    checked_in_count,
    fix_counts,
    kiosk_shifts,
    live_dashboard,
    open_conflicts,
    pick_day,
)
from checkin.coordinator.forms import CheckOutTimeForm, ManualCheckForm, ResolveConflictForm, local_to_utc
from checkin.loaders import checkin_event
from checkin.models import Attendance, Scan
from checkin.scanning.corrections import resolve_conflict, set_check_out_time
from checkin.scanning.geo import has_geofence
from checkin.scanning.services import ScanRefused, manual_check
from events.models import Event

#: the JSON endpoint the scanner posts badge scans (live and offline batches) to: POST /api/v1/scans
SCANS_API_ENDPOINT = "api.create_scans"
#: refusals that belong beside the check-out time field
TIME_CODES = {"check_out_before_check_in", "time_in_future", "invalid_time"}


def _user():
    return current_user._get_current_object()


def _attach(form, exc: DomainError, default_field: str | None = None) -> None:
    """Show a service's refusal beside its field (or the given one), else at the top of the form."""
    name = exc.field or default_field
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors), exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.get("/events/<int:event_id>")
@login_required
def event_checkin(event_id: int):
    """The event's check-in hub: kiosks (whole event or one shift), scanner, dashboard, what needs fixing."""
    event = checkin_event(event_id)
    now = utcnow()
    return render_template(
        "checkin/event.html",
        event=event,
        shifts=kiosk_shifts(event, now=now),
        present=checked_in_count(event.id),
        fixes=fix_counts(event, now=now),
    )


def _scanner_page(event: Event, form: ManualCheckForm, refusal: ScanRefused | None = None, status: int = 200):
    return render_template(
        "checkin/scanner.html",
        event=event,
        form=form,
        refusal=refusal,
        geofence=has_geofence(event),
        api_url=url_for(SCANS_API_ENDPOINT),
    ), status


@bp.get("/events/<int:event_id>/scanner")
@login_required
def scanner(event_id: int):
    """The coordinator's badge scanner: the phone camera reads badges continuously, offline scans are queued."""
    event = checkin_event(event_id)
    return _scanner_page(event, ManualCheckForm(formdata=None))


@bp.post("/events/<int:event_id>/manual")
@login_required
def manual_check_in(event_id: int):
    """Check a volunteer in or out by mobile number, with a required reason (when the badge cannot be shown)."""
    event = checkin_event(event_id)
    form = ManualCheckForm()
    if not form.validate_on_submit():
        return _scanner_page(event, form, status=422)
    try:
        result = manual_check(event, form.mobile.data, by=_user(), now=utcnow(), reason=form.reason.data)
    except ScanRefused as refused:
        db.session.commit()  # keeps the refusal in the scan log
        return _scanner_page(event, form, refusal=refused, status=409)
    except ValidationFailed as exc:
        db.session.rollback()
        _attach(form, exc)
        return _scanner_page(event, form, status=422)
    db.session.commit()
    flash(
        _("%(name)s: %(message)s", name=result.volunteer.name if result.volunteer else "", message=result.message),
        "success",
    )
    return redirect(url_for("checkin.scanner", event_id=event.id))


def _fix_page(event: Event, *, bound: dict | None = None, status: int = 200):
    """The fixing page, with fresh forms for every row except the one being corrected (shown with its errors)."""
    bound = bound or {}
    now = utcnow()
    rows = []
    for attendance in attendance_to_fix(event, now=now):
        form = bound.get(("checkout", attendance.id))
        if form is None:
            form = CheckOutTimeForm(formdata=None, prefix=f"a{attendance.id}")
            form.checked_out_at.data = to_local(attendance.shift.ends_at).replace(tzinfo=None)
        rows.append((attendance, form))
    conflicts = [
        (scan, bound.get(("conflict", scan.id)) or ResolveConflictForm(formdata=None, prefix=f"s{scan.id}"))
        for scan in open_conflicts(event)
    ]
    return render_template("checkin/fix.html", event=event, rows=rows, conflicts=conflicts), status


@bp.get("/events/<int:event_id>/attendance")
@login_required
def fix_attendance(event_id: int):
    """Forgotten check-outs and conflicting offline scans of an event, each with its fix."""
    return _fix_page(checkin_event(event_id))


def _attendance_event(event_id: int | None) -> Event:
    event = db.session.get(Event, event_id) if event_id else None
    if event is None:
        abort(404)
    if not can_run_checkin(current_user, event):
        abort(403)
    return event


@bp.post("/attendance/<int:attendance_id>/check-out")
@login_required
def set_check_out(attendance_id: int):
    """Set the real check-out time of a forgotten check-out, with a reason."""
    attendance = db.get_or_404(Attendance, attendance_id)
    event = _attendance_event(attendance.event_id)
    form = CheckOutTimeForm(prefix=f"a{attendance.id}")
    status = 422
    if form.validate_on_submit():
        try:
            set_check_out_time(
                attendance, local_to_utc(form.checked_out_at.data), by=_user(), now=utcnow(), reason=form.reason.data
            )
        except DomainError as exc:
            db.session.rollback()
            _attach(form, exc, "checked_out_at" if exc.code in TIME_CODES else None)
            status = 422 if isinstance(exc, ValidationFailed) or exc.code in TIME_CODES else exc.status
        else:
            db.session.commit()
            flash(_("Check-out time set for %(name)s.", name=attendance.user.name), "success")
            return redirect(url_for("checkin.fix_attendance", event_id=event.id))
    return _fix_page(event, bound={("checkout", attendance.id): form}, status=status)


@bp.post("/scans/<int:scan_id>/resolve")
@login_required
def resolve_scan_conflict(scan_id: int):
    """Settle a conflicting offline scan: keep the attendance as recorded, or take the scan's time."""
    scan = db.get_or_404(Scan, scan_id)
    event = _attendance_event(scan.event_id)
    form = ResolveConflictForm(prefix=f"s{scan.id}")
    status = 422
    if form.validate_on_submit():
        try:
            resolve_conflict(scan, by=_user(), now=utcnow(), keep=form.keep.data, reason=form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            _attach(form, exc, "keep" if exc.code in {"cannot_keep_scan", "check_out_before_check_in"} else None)
            status = 422 if isinstance(exc, ValidationFailed) else exc.status
        else:
            db.session.commit()
            flash(_("The conflict is resolved."), "success")
            return redirect(url_for("checkin.fix_attendance", event_id=event.id))
    return _fix_page(event, bound={("conflict", scan.id): form}, status=status)


@bp.get("/events/<int:event_id>/dashboard")
@login_required
def dashboard(event_id: int):
    """Live dashboard: per position and shift, checked in / expected, late, no-shows and hand-over alerts."""
    event = checkin_event(event_id)
    now = utcnow()
    board = live_dashboard(event, now=now, day=pick_day(event, request.args.get("day"), now=now))
    return render_template(
        "checkin/dashboard.html",
        event=event,
        board=board,
        data_url=url_for("checkin.dashboard_data", event_id=event.id, day=board.day.isoformat()),
    )


@bp.get("/events/<int:event_id>/dashboard.json")
@login_required
def dashboard_data(event_id: int):
    """The live dashboard's figures as JSON (the page refreshes itself from here every ten seconds)."""
    event = checkin_event(event_id)
    now = utcnow()
    return jsonify(live_dashboard(event, now=now, day=pick_day(event, request.args.get("day"), now=now)).to_dict())
