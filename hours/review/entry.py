"""The page of one ledger entry: its whole line, status changes, disputes, and the forms of what the reader may do."""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template

from app import permissions
from app.web.loading import load_or_404
from app.web.pages import acting_user
from hours.ledger import services as ledger
from hours.ledger.models import HourEntry
from hours.review import disputes
from hours.review.forms import CorrectionForm, DecisionForm


def load_entry(entry_id: int, may: Callable[..., bool] | None = None) -> HourEntry:
    """An entry the current user may see, and do `may(user, entry)` to when given (404 / 403 otherwise)."""
    return load_or_404(
        HourEntry,
        entry_id,
        lambda user, entry: permissions.can_view_hours_entry(user, entry) and (may is None or may(user, entry)),
        denied=403,
    )


def render_entry(entry: HourEntry, *, decision_form=None, correction_form=None, status: int = 200):
    """The entry page, with the forms of a failed action (their errors beside the fields) when given."""
    me = acting_user()
    history = ledger.line_history(entry)
    entry_status = ledger.entry_status(entry)
    return render_template(
        "hours/entry.html",
        entry=entry,
        status=entry_status,
        history=history,
        counted=sum(e.minutes for e, s, _events in history if s == "verified"),
        disputes=disputes.disputes_of_line(entry.line_id),
        can_verify=entry_status == "submitted" and permissions.can_verify_hours(me, entry),
        can_correct=permissions.can_correct_hours(me, entry),
        can_dispute=permissions.can_dispute_hours(me, entry),
        can_see_evidence=entry.evidence is not None and permissions.can_view_evidence(me, entry.evidence),
        decision_form=decision_form or DecisionForm(),
        correction_form=correction_form or CorrectionForm(),
    ), status
