"""Back-filled hours (补录): service recorded on paper, entered by a coordinator with an evidence file.

They are kept apart from scan hours (kind "backfill"), capped at the activity's length (the
shift's when one is named, never more than the event's for the volunteer altogether), start
as submitted, and are approved only by a reviewer whose role is held above the organizer.
Evidence must be a PDF, JPEG or PNG (checked by its first bytes, not its name) within
HOURS_EVIDENCE_MAX_BYTES; it is stored under HOURS_EVIDENCE_DIR (instance/evidence/) with a
random name and served only to staff of the organizer (app.permissions.can_view_evidence).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit, permissions
from app.config import INSTANCE_DIR
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.timeutil import local_today, to_local
from events.models import Event, Shift
from hours.ledger.entries import append_entry
from hours.ledger.models import PENDING_STATUSES, EntryKind, EntryStatus, HourEntry, HourEntryState, HourEvidence
from volunteers.accounts.models import User

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
#: content type -> (leading bytes, file extension)
EVIDENCE_TYPES = {
    "application/pdf": (b"%PDF-", "pdf"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
}


def evidence_dir() -> Path:
    """Where evidence files live (created on first use)."""
    return Path(current_app.config.get("HOURS_EVIDENCE_DIR") or INSTANCE_DIR / "evidence")


def max_evidence_bytes() -> int:
    return int(current_app.config.get("HOURS_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def sniff_content_type(head: bytes) -> str | None:
    """The evidence type its first bytes show, or None for anything else."""
    for content_type, (magic, _ext) in EVIDENCE_TYPES.items():
        if head.startswith(magic):
            return content_type
    return None


def read_upload(stream: IO[bytes], limit: int) -> bytes:
    """Read at most limit + 1 bytes, so an oversized upload is refused without reading all of it."""
    return stream.read(limit + 1)


def store_evidence(data: bytes, original_name: str, *, organization_id: int, by: User, now: datetime) -> HourEvidence:
    """Check an uploaded file's size and type, write it under a random name and record it."""
    limit = max_evidence_bytes()
    if not data:
        raise ValidationFailed(
            _("Attach the evidence: a scan or photo of the paper record."), code="evidence_missing", field="evidence"
        )
    if len(data) > limit:
        raise ValidationFailed(
            _("The evidence file is too large (at most %(size)s MB).", size=round(limit / 1024 / 1024, 1)),
            code="evidence_too_large",
            field="evidence",
        )
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise ValidationFailed(
            _("The evidence must be a PDF, JPEG or PNG file."), code="evidence_type", field="evidence"
        )
    folder = evidence_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.{EVIDENCE_TYPES[content_type][1]}"
    with open(folder / stored_name, "xb") as handle:
        handle.write(data)
    evidence = HourEvidence(
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=(original_name or "")[:200],
        organization_id=organization_id,
        uploaded_by_id=by.id,
        uploaded_at=now,
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence


def evidence_path(evidence: HourEvidence) -> Path:
    """The stored file of an evidence record."""
    return evidence_dir() / evidence.stored_name


def find_volunteer(identifier: str) -> User | None:
    """A volunteer by mobile number or volunteer number."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return db.session.scalar(select(User).where((User.mobile == identifier) | (User.volunteer_number == identifier)))


def activity_minutes(event: Event, shift: Shift | None = None) -> int:
    """The length of the activity: the shift's when given, else the event's, in minutes."""
    start, end = (shift.starts_at, shift.ends_at) if shift is not None else (event.starts_at, event.ends_at)
    return int((end - start).total_seconds() // 60)


def _volunteer_event_minutes(volunteer_id: int, event_id: int) -> int:
    """Minutes the volunteer counts or may still count for the event (scan and back-filled)."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(HourEntryState.minutes), 0)).where(
                HourEntryState.volunteer_id == volunteer_id,
                HourEntryState.event_id == event_id,
                HourEntryState.status.in_((EntryStatus.VERIFIED.value, *PENDING_STATUSES)),
            )
        )
        or 0
    )


def check_backfill(
    event: Event,
    volunteer: User | None,
    *,
    shift: Shift | None,
    service_date: date | None,
    minutes: int | None,
    reason: str,
    now: datetime,
) -> None:
    """Refuse a back-fill that breaks a rule, naming the field at fault."""
    if volunteer is None:
        raise ValidationFailed(
            _("No volunteer has that mobile or volunteer number."), code="volunteer_unknown", field="volunteer"
        )
    if shift is not None and shift.event_id != event.id:
        raise ValidationFailed(_("That shift is not part of this event."), code="wrong_shift", field="shift_id")
    first_day, last_day = to_local(event.starts_at).date(), to_local(event.ends_at).date()
    if service_date is None or not first_day <= service_date <= last_day:
        raise ValidationFailed(
            _(
                "The date must fall within the event (%(start)s to %(end)s).",
                start=first_day.isoformat(),
                end=last_day.isoformat(),
            ),
            code="date_outside_event",
            field="service_date",
        )
    if service_date > local_today(now):
        raise ValidationFailed(
            _("Hours cannot be back-filled for a day still to come."), code="date_in_future", field="service_date"
        )
    cap = activity_minutes(event, shift)
    if minutes is None or minutes <= 0:
        raise ValidationFailed(_("Enter the minutes served."), code="minutes_required", field="minutes")
    if minutes > cap:
        raise ValidationFailed(
            _("At most %(max)s minutes: the length of the activity.", max=cap),
            code="over_activity_length",
            field="minutes",
        )
    already = _volunteer_event_minutes(volunteer.id, event.id)
    if already + minutes > activity_minutes(event):
        raise ValidationFailed(
            _(
                "The volunteer already has %(already)s minutes for this event; with these it would "
                "pass the event's length (%(max)s minutes).",
                already=already,
                max=activity_minutes(event),
            ),
            code="over_activity_length",
            field="minutes",
        )
    if not (reason or "").strip():
        raise ValidationFailed(
            _("Say what the paper record is and why the hours were not scanned."),
            code="reason_required",
            field="reason",
        )


def create_backfill(
    event: Event,
    volunteer: User | None,
    *,
    shift: Shift | None,
    service_date: date | None,
    minutes: int | None,
    reason: str,
    evidence_data: bytes,
    evidence_name: str,
    by: User,
    now: datetime,
) -> HourEntry:
    """Enter back-filled hours with their evidence; the entry starts submitted for approval above the organizer."""
    if not permissions.can_submit_hours(by, event):
        raise PermissionDenied(_("You may not back-fill hours for this event."), code="not_allowed")
    check_backfill(event, volunteer, shift=shift, service_date=service_date, minutes=minutes, reason=reason, now=now)
    assert volunteer is not None and service_date is not None and minutes is not None  # check_backfill refuses them
    evidence = store_evidence(evidence_data, evidence_name, organization_id=event.organization_id, by=by, now=now)
    entry = append_entry(
        status=EntryStatus.SUBMITTED.value,
        now=now,
        by_id=by.id,
        actor=by,
        action="hours.backfill",
        reason=reason.strip(),
        volunteer_id=volunteer.id,
        event_id=event.id,
        shift_id=shift.id if shift is not None else None,
        attendance_id=None,
        organization_id=event.organization_id,
        kind=EntryKind.BACKFILL.value,
        service_date=service_date,
        service_year=service_date.year,
        minutes=minutes,
        evidence_id=evidence.id,
    )
    audit.record(
        "hours.evidence",
        actor=by,
        now=now,
        target=evidence,
        organization_id=event.organization_id,
        after={
            "entry": entry.id,
            "content_type": evidence.content_type,
            "size": evidence.size_bytes,
            "sha256": evidence.sha256,
        },
    )
    return entry
