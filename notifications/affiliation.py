"""Tell a volunteer what became of a change of affiliation (volunteers/affiliation/signals.py).

The volunteers area sits below notifications and cannot call `notify`; it sends `affiliation_decided`, and this
module, imported by notifications/area.py, stores the notification.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from notifications.services import MESSAGES, notify
from volunteers.affiliation.models import AffiliationChange, ChangeKind, ChangeStatus
from volunteers.affiliation.signals import affiliation_decided

MESSAGES.update(
    {
        "affiliation_approved": (
            _l("Your affiliation has changed"),
            _l("You now belong to %(to)s (before: %(from)s)."),
        ),
        "affiliation_refused": (
            _l("Your change of affiliation was refused"),
            _l("%(to)s did not accept your move from %(from)s."),
        ),
        "affiliation_moved": (
            _l("Your affiliation has changed"),
            _l("An administrator moved you from %(from)s to %(to)s."),
        ),
    }
)

LINK = "/me/affiliation"


@affiliation_decided.connect
def tell_volunteer(change: AffiliationChange, *, now: datetime) -> None:
    """One notification per decided change (its id dedupes it)."""
    if change.kind == ChangeKind.STAFF_MOVE.value:
        kind = "affiliation_moved"
    elif change.status == ChangeStatus.APPROVED.value:
        kind = "affiliation_approved"
    else:
        kind = "affiliation_refused"
    params = {
        "from": change.from_organization.display_name,
        "to": change.to_organization.display_name,
        "reason": change.decision_reason if change.status == ChangeStatus.REFUSED.value else "",
        "change_id": change.id,
    }
    notify(change.volunteer_id, kind, params=params, link=LINK, now=now, dedupe_key=f"affiliation:{change.id}")
