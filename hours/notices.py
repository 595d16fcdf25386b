"""Notification kinds of the hours area, added to the notification centre's message table.

notifications.services renders a stored notification by its kind from MESSAGES; the hours area
registers its own kinds there when it is imported (hours/review/verification.py and disputes.py import it), so the
messages are shown in the reader's language like every other notification.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from notifications.services import MESSAGES

HOURS_MESSAGES = {
    "hours_rejected": (
        _l("Service hours rejected"),
        _l("%(minutes)s minutes of %(event)s on %(date)s were rejected by a reviewer."),
    ),
    "hours_disputed": (
        _l("A volunteer disputes service hours"),
        _l("%(volunteer)s disputes %(minutes)s minutes of %(event)s on %(date)s: %(message)s"),
    ),
    "hours_dispute_answered": (
        _l("Your dispute was answered"),
        _l("Your dispute about %(event)s on %(date)s was answered: %(answer)s"),
    ),
}

for _kind, _message in HOURS_MESSAGES.items():
    MESSAGES.setdefault(_kind, _message)
