"""Coordinator pages of check-in: the event's check-in hub, the badge scanner with its manual fallback,
fixing forgotten check-outs and conflicts, and the live dashboard (page and JSON)."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.errors import ValidationFailed
from app.timeutil import to_local, utcnow
from app.web.forms import form_page, refusal_status, show_refusal, submit_form
from app.web.loading import load_or_404
from app.web.pages import acting_user
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
from checkin.engine.geo import has_geofence
from checkin.engine.result import scan_answer
from checkin.loaders import checkin_event
from checkin.models import Attendance, Scan
from checkin.scanning.corrections import resolve_conflict, set_check_out_time
from checkin.scanning.services import ScanRefused, manual_check
from events.models import Event

#: the JSON endpoint the scanner posts badge scans (live and offline batches) to: POST /api/v1/scans
SCANS_API_ENDPOINT = "api.create_scans"
#: refusals that belong beside the check-out time field
TIME_CODES = {"check_out_before_check_in", "time_in_future", "invalid_time"}

#: refusals that belong beside the kept side of a conflict
KEEP_CODES = {"cannot_keep_scan", "check_out_before_check_in"}


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


def _scanner_page(event: Event, form: ManualCheckForm, refusal: dict | None = None, status: int = 200):
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
    sent = submit_form(
        form,
        lambda: manual_check(event, form.mobile.data, by=acting_user(), now=utcnow(), reason=form.reason.data),
        success=lambda result: _checked_message(scan_answer(result)),
        then=lambda _result: redirect(url_for("checkin.scanner", event_id=event.id)),
        catch=(ScanRefused, ValidationFailed),
        commit_refusals=ScanRefused,  # keeps the refusal in the scan log
        show=lambda exc: None if isinstance(exc, ScanRefused) else show_refusal(form, exc),
        status_of=refusal_status,
    )
    if sent.saved:
        return sent.response
    refused = sent.refusal if isinstance(sent.refusal, ScanRefused) else None
    return _scanner_page(event, form, refusal=scan_answer(refused) if refused else None, status=sent.status)


def _checked_message(answer: dict) -> str:
    volunteer = answer["volunteer"]
    return _("%(name)s: %(message)s", name=volunteer["name"] if volunteer else "", message=answer["message"])


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


@bp.post("/attendance/<int:attendance_id>/check-out")
@login_required
def set_check_out(attendance_id: int):
    """Set the real check-out time of a forgotten check-out, with a reason."""
    attendance = load_or_404(Attendance, attendance_id)
    event = checkin_event(attendance.event_id)
    form = CheckOutTimeForm(prefix=f"a{attendance.id}")
    return form_page(
        form,
        lambda: set_check_out_time(
            attendance, local_to_utc(form.checked_out_at.data), by=acting_user(), now=utcnow(), reason=form.reason.data
        ),
        success=lambda _saved: _("Check-out time set for %(name)s.", name=attendance.user.name),
        then=lambda _saved: redirect(url_for("checkin.fix_attendance", event_id=event.id)),
        show=lambda exc: show_refusal(form, exc, field="checked_out_at" if exc.code in TIME_CODES else None),
        status_of=lambda exc: 422 if exc.code in TIME_CODES else refusal_status(exc),
        render=lambda status: _fix_page(event, bound={("checkout", attendance.id): form}, status=status),
    )


@bp.post("/scans/<int:scan_id>/resolve")
@login_required
def resolve_scan_conflict(scan_id: int):
    """Settle a conflicting offline scan: keep the attendance as recorded, or take the scan's time."""
    scan = load_or_404(Scan, scan_id)
    event = checkin_event(scan.event_id)
    form = ResolveConflictForm(prefix=f"s{scan.id}")
    return form_page(
        form,
        lambda: resolve_conflict(scan, by=acting_user(), now=utcnow(), keep=form.keep.data, reason=form.reason.data),
        success=_("The conflict is resolved."),
        then=lambda _saved: redirect(url_for("checkin.fix_attendance", event_id=event.id)),
        show=lambda exc: show_refusal(form, exc, field="keep" if exc.code in KEEP_CODES else None),
        status_of=refusal_status,
        render=lambda status: _fix_page(event, bound={("conflict", scan.id): form}, status=status),
    )


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
