"""Why a scan was refused: machine-readable codes and the readable message of each.

`ScanRefused` is a Conflict (409); `.code` is one of REFUSAL_CODES and `.message` is in
the current language. A refusal raised by the scan engine has already been written to the
scan log (`.logged`: that row's ScanResult, checkin.engine.result): callers commit before
answering, so the refusal is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from app.errors import Conflict

if TYPE_CHECKING:
    from checkin.engine.result import ScanResult

#: every refusal code a scan can answer with
REFUSAL_CODES = (
    "token_malformed",
    "token_too_long",
    "token_forged",
    "token_expired",
    "token_wrong_kind",
    "token_replayed",
    "wrong_event",
    "no_assignment",
    "not_open_yet",
    "shift_over",
    "outside_radius",
    "check_out_before_check_in",
    "already_checked_in_elsewhere",
    "volunteer_unknown",
    "not_allowed",
    "shift_full",
    "walk_in_refused",
    "scan_in_future",
    "scan_too_old",
)


def refusal_message(code: str, **params: object) -> str:
    """The readable message of a refusal code (translated); without `params` a shorter form is used."""
    messages = {
        "token_malformed": lambda: _("This is not a check-in code of this system."),
        "token_too_long": lambda: _("This is not a check-in code of this system."),
        "token_forged": lambda: _("This code is not genuine."),
        "token_expired": lambda: _("This code has expired. Scan the code on the screen now."),
        "token_wrong_kind": lambda: _("This is a different kind of code: scan the site's check-in code."),
        "token_replayed": lambda: _(
            "This badge code was already used on another device. Ask the volunteer to show the badge again."
        ),
        "wrong_event": lambda: _("This code belongs to another event."),
        "no_assignment": lambda: _("No shift at this event is assigned to this volunteer."),
        "not_open_yet": lambda: (
            _("Check-in is not open yet: it opens at %(time)s.", **params) if params else _("Check-in is not open yet.")
        ),
        "shift_over": lambda: _("The shift is over: check-in is closed."),
        "outside_radius": lambda: _("The position is outside the event's check-in area."),
        "check_out_before_check_in": lambda: _("The check-out time must be after the check-in time."),
        "already_checked_in_elsewhere": lambda: (
            _("Already checked in at another event: %(title)s. Check out there first.", **params)
            if params
            else _("Already checked in at another event. Check out there first.")
        ),
        "volunteer_unknown": lambda: _("No active volunteer account matches."),
        "not_allowed": lambda: _("Check-in is not possible for this event."),
        "shift_full": lambda: _("The shift is full: no place for a walk-in."),
        "walk_in_refused": lambda: (
            _("This volunteer cannot take the shift: %(reason)s", **params)
            if params
            else _("This volunteer cannot take the shift.")
        ),
        "scan_in_future": lambda: _("The scan's time lies in the future: check the device's clock."),
        "scan_too_old": lambda: (
            _("The scan is too old to be synced (more than %(hours)s hours).", **params)
            if params
            else _("The scan is too old to be synced.")
        ),
    }
    make = messages.get(code)
    return make() if make else _("The scan was refused.")


class ScanRefused(Conflict):
    """A scan broke a check-in rule (409). `.code`: see REFUSAL_CODES; `.logged`: the logged refusal, if any."""

    code = "scan_refused"

    def __init__(self, code: str, message: str | None = None, *, details: dict | None = None, **params: object) -> None:
        super().__init__(message or refusal_message(code, **params), code=code, details=details)
        self.logged: ScanResult | None = None
