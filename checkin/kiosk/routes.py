"""Check-in pages of the kiosk and the badge: the coordinator's rotating kiosk QR, the volunteer's side of a
kiosk scan (arrival from the phone's camera app, login detour, check-in with a POST, confirmation) and
the volunteer's own rotating badge.

A kiosk QR holds <base>/k/<token>. The token is verified when the phone opens it and remembered in
the session with its arrival time for KIOSK_ARRIVAL_MINUTES, so a login on the way does not expire
it; the check-in itself judges the token at its arrival time. GET never changes anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.errors import ValidationFailed
from app.extensions import client_address, db, limiter
from app.timeutil import utcnow
from app.web.forms import run_action
from app.web.loading import load_or_404
from app.web.pages import acting_user
from checkin.blueprint import bp, links
from checkin.coordinator.dashboard import checked_in_count, open_attendance
from checkin.engine.geo import has_geofence
from checkin.engine.result import scan_answer
from checkin.loaders import checkin_event
from checkin.models import Attendance, AttendanceStatus
from checkin.qr import kiosk_url, rotating_svg_response
from checkin.scanning.services import ScanRefused, ScanResult, scan_kiosk
from checkin.tokens import KioskClaim, badge_token, kiosk_token, next_rotation, parse_kiosk_token
from events.models import Event, Shift

#: the short public path of kiosk QR codes (/k/<token>), outside /checkin to keep the QR small

KIOSK_SESSION = "checkin_kiosk"
RESULT_SESSION = "checkin_kiosk_result"
#: how long a kiosk code opened on a phone stays usable (covers a login on the way)
KIOSK_ARRIVAL_MINUTES = 5
#: what the confirmation page keeps of a scan's answer (checkin.engine.result), with the user and event title
OUTCOME_FIELDS = ("ok", "code", "message", "action", "result", "attendance_id", "position_name", "at", "flags")


def _kiosk_shift(event: Event) -> Shift | None:
    """The shift named by ?shift_id= (a shift's own kiosk), or None for the whole event; 404 if not the event's."""
    raw = request.args.get("shift_id")
    if not raw:
        return None
    shift_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
    return load_or_404(Shift, shift_id, lambda _user, shift: shift.event_id == event.id)


def _seconds_left(now: datetime) -> float:
    return max((next_rotation(now) - now).total_seconds(), 0.0)


@bp.get("/events/<int:event_id>/kiosk")
@login_required
def kiosk(event_id: int):
    """Full-screen kiosk for the whole event or one shift: the rotating QR code, a countdown and who is in."""
    event = checkin_event(event_id)
    shift = _kiosk_shift(event)
    now = utcnow()
    args: dict[str, Any] = {"event_id": event.id, "shift_id": shift.id} if shift else {"event_id": event.id}
    return render_template(
        "checkin/kiosk.html",
        event=event,
        shift=shift,
        now=now,
        count=checked_in_count(event.id, shift.id if shift else None),
        seconds_left=int(_seconds_left(now)) + 1,
        qr_url=url_for("checkin.kiosk_qr", **args),
        status_url=url_for("checkin.kiosk_status", **args),
    )


@bp.get("/events/<int:event_id>/kiosk/qr.svg")
@login_required
def kiosk_qr(event_id: int):
    """The kiosk's QR code of this moment (SVG), holding <base>/k/<token>; X-QR-Rotates-In says when to refetch."""
    event = checkin_event(event_id)
    shift = _kiosk_shift(event)
    now = utcnow()
    token = kiosk_token(event.id, shift_id=shift.id if shift else None, now=now)
    return rotating_svg_response(kiosk_url(token), now=now)


@bp.get("/events/<int:event_id>/kiosk/status.json")
@login_required
def kiosk_status(event_id: int):
    """The kiosk's live figures: volunteers checked in now and seconds until the code changes."""
    event = checkin_event(event_id)
    shift = _kiosk_shift(event)
    now = utcnow()
    return jsonify(
        checked_in=checked_in_count(event.id, shift.id if shift else None),
        rotates_in=round(_seconds_left(now), 3),
        now=now.isoformat(),
    )


@links.get("/k/<token>")
def kiosk_arrival(token: str):
    """A phone opened a kiosk QR: verify the code, remember it for a few minutes, go on to check in."""
    now = utcnow()
    try:
        claim = parse_kiosk_token(token, now=now)
    except ScanRefused as refused:
        return render_template("checkin/kiosk_refused.html", message=refused.message, code=refused.code), 409
    load_or_404(Event, claim.event_id)  # the code's event must still exist
    session[KIOSK_SESSION] = {"token": token, "arrived": now.timestamp()}
    session.pop(RESULT_SESSION, None)
    return redirect(url_for("checkin.kiosk_check"))


def _arrival_minutes() -> int:
    return int(current_app.config.get("CHECKIN_KIOSK_ARRIVAL_MINUTES", KIOSK_ARRIVAL_MINUTES))


def _pending_kiosk(now: datetime) -> tuple[KioskClaim, Event] | None:
    """The kiosk code this phone opened in the last few minutes, judged at its arrival, with its event."""
    pending = session.get(KIOSK_SESSION)
    if not isinstance(pending, dict):
        return None
    try:
        arrived = datetime.fromtimestamp(float(pending["arrived"]), UTC)
        if not timedelta(0) <= now - arrived <= timedelta(minutes=_arrival_minutes()):
            return None
        claim = parse_kiosk_token(str(pending["token"]), now=arrived)
    except (KeyError, TypeError, ValueError, OverflowError, ScanRefused):
        return None
    event = db.session.get(Event, claim.event_id)
    return None if event is None else (claim, event)


def _form_number(name: str):
    value = (request.form.get(name) or "").strip()
    return value or None


def _outcome(scanned: ScanResult | ScanRefused, event: Event, *, now: datetime) -> dict:
    """What the confirmation page shows, kept in the session (so a reload shows it again): the scan's answer."""
    answer = scan_answer(scanned, at=now)
    return {"user_id": current_user.id, "event_title": event.title, **{name: answer[name] for name in OUTCOME_FIELDS}}


def _user_key() -> str:
    return f"checkin-kiosk:{current_user.id}" if current_user.is_authenticated else client_address()


@bp.route("/kiosk", methods=["GET", "POST"])
@login_required
@limiter.limit(
    lambda: current_app.config.get("CHECKIN_KIOSK_RATE_LIMIT", "30 per minute"), methods=["POST"], key_func=_user_key
)
def kiosk_check():
    """Check in, or out when already in, with the kiosk code just opened: GET asks (and the position), POST does it."""
    now = utcnow()
    pending = _pending_kiosk(now)
    if pending is None:
        session.pop(KIOSK_SESSION, None)
        return render_template("checkin/kiosk_expired.html"), 410
    claim, event = pending
    shift = db.session.get(Shift, claim.shift_id) if claim.shift_id else None
    error = None
    if request.method == "POST":
        done = run_action(
            lambda: scan_kiosk(
                claim,
                acting_user(),
                now=now,
                latitude=_form_number("latitude"),
                longitude=_form_number("longitude"),
                accuracy_m=_form_number("accuracy_m"),
                alone=True,
            ),
            success=None,
            catch=(ValidationFailed, ScanRefused),
            commit_refusals=ScanRefused,  # keeps the refusal in the scan log
            show=None,
        )
        if isinstance(done.refusal, ValidationFailed):
            error = done.refusal.message
        else:
            if done.saved:
                session.pop(KIOSK_SESSION, None)
            scanned = done.result if done.saved else done.refusal
            assert isinstance(scanned, (ScanResult, ScanRefused))  # the scan's result, or the ScanRefused caught
            session[RESULT_SESSION] = _outcome(scanned, event, now=now)
            return redirect(url_for("checkin.kiosk_done"))
    current = open_attendance(current_user.id, event.id)
    return render_template(
        "checkin/kiosk_check.html", event=event, shift=shift, current=current, geofence=has_geofence(event), error=error
    ), 422 if error else 200


@bp.get("/kiosk/done")
@login_required
def kiosk_done():
    """The confirmation of a kiosk scan: time, position and running duration, or the refusal in plain words."""
    outcome = session.get(RESULT_SESSION)
    if not isinstance(outcome, dict) or outcome.get("user_id") != current_user.id:
        return render_template("checkin/kiosk_expired.html"), 410
    now = utcnow()
    attendance = db.session.get(Attendance, outcome["attendance_id"]) if outcome.get("attendance_id") else None
    if attendance is not None and attendance.user_id != current_user.id:
        attendance = None
    minutes = None
    if attendance is not None:
        end = attendance.checked_out_at or (now if attendance.status == AttendanceStatus.OPEN.value else None)
        minutes = max(int((end - attendance.checked_in_at).total_seconds() // 60), 0) if end else None
    return render_template(
        "checkin/kiosk_done.html",
        outcome=outcome,
        attendance=attendance,
        minutes=minutes,
        at=datetime.fromisoformat(outcome["at"]),
        retry=_pending_kiosk(now) is not None,
    )


@bp.get("/badge")
@login_required
def badge():
    """The volunteer's own badge: a QR code that changes every 30 seconds, name and volunteer number."""
    return render_template("checkin/badge.html", volunteer=acting_user(), seconds_left=int(_seconds_left(utcnow())) + 1)


@bp.get("/badge/qr.svg")
@login_required
def badge_qr():
    """The current user's badge QR code of this moment (SVG); only ever their own."""
    now = utcnow()
    return rotating_svg_response(badge_token(current_user.id, now=now), now=now)
