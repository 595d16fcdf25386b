"""Back-filling paper-recorded hours (补录) and serving their evidence to those allowed."""

from __future__ import annotations

import io

from flask import abort, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app import permissions
from app.extensions import db
from app.timeutil import utcnow
from app.web.forms import form_page
from app.web.loading import load_or_404
from app.web.pages import acting_user
from events.models import Event, Shift
from hours.backfill import services as backfill
from hours.blueprint import bp
from hours.ledger.models import HourEvidence
from hours.review.forms import BackfillForm


def _shift_choices(event: Event) -> list[tuple[int, str]]:
    shifts = db.session.scalars(select(Shift).where(Shift.event_id == event.id).order_by(Shift.starts_at)).all()
    from app.timeutil import to_local

    return [SelectChoice(0, _("Whole event"))] + [
        SelectChoice(s.id, f"{s.position.name} · {to_local(s.starts_at):%Y-%m-%d %H:%M}–{to_local(s.ends_at):%H:%M}")
        for s in shifts
    ]


@bp.route("/events/<int:event_id>/backfill", methods=["GET", "POST"])
@login_required
def backfill_hours(event_id: int):
    """A coordinator enters hours served on paper for a volunteer, with an evidence file."""
    event = load_or_404(Event, event_id, permissions.can_submit_hours, denied=403)
    form = BackfillForm()
    form.shift_id.choices = _shift_choices(event)

    def enter():
        shift = db.session.get(Shift, form.shift_id.data) if form.shift_id.data else None
        upload = form.evidence.data
        data = backfill.read_upload(upload.stream, backfill.max_evidence_bytes()) if upload else b""
        return backfill.create_backfill(
            event,
            backfill.find_volunteer(form.volunteer.data),
            shift=shift,
            service_date=form.service_date.data,
            minutes=form.total_minutes(),
            reason=form.reason.data,
            evidence_data=data,
            evidence_name=getattr(upload, "filename", "") or "",
            by=acting_user(),
            now=utcnow(),
        )

    return form_page(
        form,
        enter,
        success=_("Back-filled hours entered; a reviewer above the organizer approves them."),
        then=lambda entry: redirect(url_for("hours.show_entry", entry_id=entry.id)),
        raise_statuses=(403,),
        template="hours/backfill_form.html",
        event=event,
        max_mb=round(backfill.max_evidence_bytes() / 1024 / 1024, 1),
    )


@bp.get("/evidence/<int:evidence_id>")
@login_required
def show_evidence(evidence_id: int):
    """An evidence file, only for coordinators and reviewers of the organizer."""
    evidence = load_or_404(HourEvidence, evidence_id, permissions.can_view_evidence, denied=403)
    path = backfill.evidence_path(evidence)
    if not path.is_file():
        abort(404)
    extension = backfill.EVIDENCE_TYPES[evidence.content_type][1]
    # Evidence is small (HOURS_EVIDENCE_MAX_BYTES): read it whole, so no file handle outlives the request.
    return send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=evidence.content_type,
        download_name=f"evidence-{evidence.id}.{extension}",
        as_attachment=evidence.content_type == "application/pdf",
        max_age=0,
    )
