"""Patrol reports (巡河记录): file a patrol's report, add and edit its findings and photos, follow findings up.

Rules:
- a report is filed after a patrol (its shift has started, and was not cancelled), once per patrol:
  later findings are added to the same report;
- whoever may file (app.permissions.can_file_patrol_report) may add findings and photos; a finding can
  be changed until it is forwarded or resolved;
- findings move reported → forwarded (to whom, as text) → resolved, each step stamped with who and
  when and audited; a finding dealt with on the spot may be resolved at once. Only the river chief
  and coordinators over the team follow findings up;
- photos are decoded and cleaned before anything is written (patrols/reports/photos.py); their files are
  written after the rows are flushed and removed again if the transaction does not commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db, rowcount
from app.permissions import can_edit_patrol_report, can_file_patrol_report, can_follow_up_findings
from patrols.reports import photos
from patrols.reports.models import (
    CATEGORY_LABELS,
    OPEN_STATUSES,
    FindingStatus,
    PatrolFinding,
    PatrolPhoto,
    PatrolReport,
)
from patrols.segments.geometry import distance_to_polyline_m
from patrols.segments.models import PatrolShift, RiverSegment
from volunteers.accounts.models import User

MAX_DESCRIPTION = 2_000
MAX_SUMMARY = 5_000
MAX_NOTE = 2_000
MAX_FORWARDED_TO = 120
DEFAULT_MAX_DISTANCE_M = 5_000


@dataclass
class FindingData:
    """A finding as the team states it; position optional (both or neither)."""

    category: str
    description: str
    latitude: float | None = None
    longitude: float | None = None


def _max_distance_m() -> int:
    return int(current_app.config.get("PATROL_FINDING_MAX_DISTANCE_M", DEFAULT_MAX_DISTANCE_M))


def finding_problems(data: FindingData, segment: RiverSegment) -> dict[str, str]:
    """Every problem of a finding, by field (empty when it may be stored)."""
    problems: dict[str, str] = {}
    if data.category not in CATEGORY_LABELS:
        problems["category"] = _("Choose what was found.")
    description = (data.description or "").strip()
    if not description:
        problems["description"] = _("Describe what was found and where.")
    elif len(description) > MAX_DESCRIPTION:
        problems["description"] = _("Keep the description under %(max)s characters.", max=MAX_DESCRIPTION)
    lat, lon = data.latitude, data.longitude
    if (lat is None) != (lon is None):
        problems["latitude" if lat is None else "longitude"] = _("Give both latitude and longitude, or neither.")
    elif lat is not None and lon is not None:
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            problems["latitude"] = _("The latitude must be between -90 and 90.")
        elif not (math.isfinite(lon) and -180 <= lon <= 180):
            problems["longitude"] = _("The longitude must be between -180 and 180.")
        elif segment.points:
            distance = distance_to_polyline_m((lat, lon), segment.points)
            if distance > _max_distance_m():
                km = "%.1f" % (distance / 1000)
                problems["latitude"] = _(
                    "This position is %(km)s km from the segment: check the numbers "
                    "(latitude first, e.g. 23.02,113.75).",
                    km=km,
                )
    return problems


def _check_finding(data: FindingData, segment: RiverSegment) -> FindingData:
    problems = finding_problems(data, segment)
    if problems:
        field, message = next(iter(problems.items()))
        raise ValidationFailed(message, code="invalid_finding", field=field, details={"problems": problems})
    return FindingData(
        category=data.category, description=data.description.strip(), latitude=data.latitude, longitude=data.longitude
    )


def _check_photo_count(uploads: list[photos.Upload], already: int = 0) -> None:
    limit = photos.max_photos_per_finding()
    if already + len(uploads) > limit:
        raise ValidationFailed(
            _("A finding holds at most %(max)s photos.", max=limit), code="too_many_photos", field="photos"
        )


def _store_photos(
    finding: PatrolFinding, prepared: list[photos.PreparedPhoto], *, by: User, now: datetime
) -> list[PatrolPhoto]:
    """Write prepared photos and their rows (after the finding is flushed)."""
    stored = []
    for photo in prepared:
        name = photos.write_photo(photo)
        row = PatrolPhoto(
            finding_id=finding.id,
            stored_name=name,
            width=photo.width,
            height=photo.height,
            size_bytes=len(photo.jpeg),
            original_name=photo.original_name[:200],
            uploaded_by_id=by.id,
            uploaded_at=now,
        )
        db.session.add(row)
        stored.append(row)
    db.session.flush()
    return stored


def _finding_snapshot(finding: PatrolFinding) -> dict:
    return {
        "category": finding.category,
        "description": finding.description,
        "latitude": finding.latitude,
        "longitude": finding.longitude,
        "status": finding.status,
    }


def _new_finding(
    report: PatrolReport, data: FindingData, prepared: list[photos.PreparedPhoto], *, by: User, now: datetime
) -> PatrolFinding:
    finding = PatrolFinding(
        report_id=report.id,
        segment_id=report.segment_id,
        category=data.category,
        description=data.description,
        latitude=data.latitude,
        longitude=data.longitude,
        status=FindingStatus.REPORTED.value,
        reported_by_id=by.id,
        reported_at=now,
        updated_by_id=by.id,
        updated_at=now,
    )
    db.session.add(finding)
    db.session.flush()
    stored = _store_photos(finding, prepared, by=by, now=now)
    audit.record(
        "patrol_finding.report",
        actor=by,
        now=now,
        target=finding,
        organization_id=report.segment.team_id,
        after={**_finding_snapshot(finding), "report_id": report.id, "photos": len(stored)},
    )
    return finding


def report_of(patrol_shift: PatrolShift) -> PatrolReport | None:
    """The report already filed for a patrol, if any."""
    return db.session.scalar(select(PatrolReport).where(PatrolReport.patrol_shift_id == patrol_shift.id))


def check_can_file(patrol_shift: PatrolShift, *, by: User, now: datetime) -> None:
    """Refuse filing for someone not allowed, or for a patrol that has not started or was cancelled."""
    if not can_file_patrol_report(by, patrol_shift):
        raise PermissionDenied(
            _("Only the team on this patrol, its river chief and its coordinators file its report."),
            code="not_on_patrol",
        )
    if patrol_shift.shift.is_cancelled:
        raise ValidationFailed(_("This patrol was cancelled."), code="patrol_cancelled")
    if patrol_shift.shift.starts_at > now:
        raise ValidationFailed(_("A report is filed after the patrol has started."), code="patrol_not_started")


def file_report(
    patrol_shift: PatrolShift,
    *,
    summary: str,
    finding: FindingData | None,
    uploads: list[photos.Upload],
    by: User,
    now: datetime,
) -> PatrolReport:
    """File the report of a patrol: a summary and/or a first finding with its photos (once per patrol)."""
    check_can_file(patrol_shift, by=by, now=now)
    if report_of(patrol_shift) is not None:
        raise Conflict(_("This patrol already has a report; add your findings to it."), code="report_exists")
    segment = patrol_shift.segment
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise ValidationFailed(
            _("Keep the summary under %(max)s characters.", max=MAX_SUMMARY), code="summary_too_long", field="summary"
        )
    if finding is None:
        if uploads:
            raise ValidationFailed(
                _("Photos belong to a finding: choose what was found and describe it."),
                code="photos_without_finding",
                field="category",
            )
        if not summary:
            raise ValidationFailed(
                _("Describe a finding, or write in the summary what the patrol saw."),
                code="report_empty",
                field="summary",
            )
    else:
        finding = _check_finding(finding, segment)
        _check_photo_count(uploads)
    prepared = photos.prepare_uploads(uploads)  # every photo checked before anything is written
    report = PatrolReport(
        patrol_shift_id=patrol_shift.id,
        segment_id=segment.id,
        patrol_date=patrol_shift.local_date,
        summary=summary,
        filed_by_id=by.id,
        filed_at=now,
        updated_by_id=by.id,
        updated_at=now,
    )
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # filed by someone else a moment ago (unique patrol_shift_id); the caller rolls back
        raise Conflict(_("This patrol already has a report; add your findings to it."), code="report_exists") from None
    audit.record(
        "patrol_report.file",
        actor=by,
        now=now,
        target=report,
        organization_id=segment.team_id,
        after={
            "patrol_shift_id": patrol_shift.id,
            "patrol_date": patrol_shift.local_date.isoformat(),
            "summary": summary,
        },
    )
    if finding is not None:
        _new_finding(report, finding, prepared, by=by, now=now)
    return report


def _require_editor(report: PatrolReport, by: User) -> None:
    if not can_edit_patrol_report(by, report):
        raise PermissionDenied(
            _("Only the team on this patrol, its river chief and its coordinators change its report."),
            code="not_on_patrol",
        )


def update_summary(report: PatrolReport, summary: str, *, by: User, now: datetime) -> PatrolReport:
    """Change a report's summary."""
    _require_editor(report, by)
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise ValidationFailed(
            _("Keep the summary under %(max)s characters.", max=MAX_SUMMARY), code="summary_too_long", field="summary"
        )
    if not summary and not report.findings:
        raise ValidationFailed(
            _("Describe a finding, or write in the summary what the patrol saw."), code="report_empty", field="summary"
        )
    before = report.summary
    report.summary, report.updated_by_id, report.updated_at = summary, by.id, now
    db.session.flush()
    audit.record(
        "patrol_report.edit",
        actor=by,
        now=now,
        target=report,
        organization_id=report.segment.team_id,
        before={"summary": before},
        after={"summary": summary},
    )
    return report


def add_finding(
    report: PatrolReport, data: FindingData, uploads: list[photos.Upload], *, by: User, now: datetime
) -> PatrolFinding:
    """Add a finding (with photos) to a filed report."""
    _require_editor(report, by)
    data = _check_finding(data, report.segment)
    _check_photo_count(uploads)
    prepared = photos.prepare_uploads(uploads)
    finding = _new_finding(report, data, prepared, by=by, now=now)
    report.updated_by_id, report.updated_at = by.id, now
    db.session.flush()
    return finding


def _require_changeable(finding: PatrolFinding, by: User) -> None:
    _require_editor(finding.report, by)
    if finding.status != FindingStatus.REPORTED.value:
        raise Conflict(
            _("This finding has been forwarded or resolved and can no longer be changed."), code="finding_closed"
        )


def update_finding(
    finding: PatrolFinding, data: FindingData, uploads: list[photos.Upload], *, by: User, now: datetime
) -> PatrolFinding:
    """Change a finding not yet forwarded or resolved, and add photos to it."""
    _require_changeable(finding, by)
    data = _check_finding(data, finding.segment)
    _check_photo_count(uploads, already=len(finding.photos))
    prepared = photos.prepare_uploads(uploads)
    before = _finding_snapshot(finding)
    finding.category, finding.description = data.category, data.description
    finding.latitude, finding.longitude = data.latitude, data.longitude
    finding.updated_by_id, finding.updated_at = by.id, now
    db.session.flush()
    stored = _store_photos(finding, prepared, by=by, now=now)
    audit.record(
        "patrol_finding.edit",
        actor=by,
        now=now,
        target=finding,
        organization_id=finding.segment.team_id,
        before=before,
        after={**_finding_snapshot(finding), "photos_added": len(stored)},
    )
    return finding


def remove_photo(photo: PatrolPhoto, *, by: User, now: datetime) -> None:
    """Remove a photo from a finding not yet forwarded or resolved (its file goes once this is committed)."""
    finding = photo.finding
    _require_changeable(finding, by)
    audit.record(
        "patrol_photo.remove",
        actor=by,
        now=now,
        target=photo,
        organization_id=finding.segment.team_id,
        before={"finding_id": finding.id, "stored_name": photo.stored_name, "original_name": photo.original_name},
    )
    photos.delete_after_commit(photo.stored_name)
    db.session.delete(photo)
    db.session.flush()


def _move(finding: PatrolFinding, from_statuses: tuple[str, ...], **values: object) -> None:
    """Change a finding's status with a guarded UPDATE (two people acting at once: only one wins)."""
    done = rowcount(
        db.session.execute(
            update(PatrolFinding)
            .where(PatrolFinding.id == finding.id, PatrolFinding.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )
    if done != 1:
        db.session.refresh(finding)
        raise Conflict(_("Somebody else has just changed this finding; look at it again."), code="finding_changed")
    db.session.refresh(finding)


def _require_follow_up(finding: PatrolFinding, by: User) -> None:
    if not can_follow_up_findings(by, finding.segment):
        raise PermissionDenied(
            _("Only the river chief and the team's coordinators follow findings up."), code="not_follow_up"
        )


def forward_finding(finding: PatrolFinding, *, to: str, note: str, by: User, now: datetime) -> PatrolFinding:
    """Forward a reported finding to whoever deals with it (e.g. the town's river chief office)."""
    _require_follow_up(finding, by)
    to, note = (to or "").strip(), (note or "").strip()
    if not to:
        raise ValidationFailed(
            _("Say to whom the finding was forwarded."), code="forwarded_to_required", field="forwarded_to"
        )
    if len(to) > MAX_FORWARDED_TO:
        raise ValidationFailed(
            _("Keep it under %(max)s characters.", max=MAX_FORWARDED_TO), code="too_long", field="forwarded_to"
        )
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            _("Keep the note under %(max)s characters.", max=MAX_NOTE), code="too_long", field="note"
        )
    if finding.status != FindingStatus.REPORTED.value:
        raise Conflict(_("Only a reported finding can be forwarded."), code="not_reported")
    before = _finding_snapshot(finding)
    _move(
        finding,
        (FindingStatus.REPORTED.value,),
        status=FindingStatus.FORWARDED.value,
        forwarded_by_id=by.id,
        forwarded_at=now,
        forwarded_to=to,
        forward_note=note,
        updated_by_id=by.id,
        updated_at=now,
    )
    audit.record(
        "patrol_finding.forward",
        actor=by,
        now=now,
        target=finding,
        organization_id=finding.segment.team_id,
        before=before,
        after={"status": finding.status, "forwarded_to": to},
        note=note,
    )
    return finding


def resolve_finding(finding: PatrolFinding, *, note: str, by: User, now: datetime) -> PatrolFinding:
    """Mark a reported or forwarded finding resolved, saying how."""
    _require_follow_up(finding, by)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Say how the finding was resolved."), code="note_required", field="note")
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            _("Keep the note under %(max)s characters.", max=MAX_NOTE), code="too_long", field="note"
        )
    if finding.status not in OPEN_STATUSES:
        raise Conflict(_("This finding is already resolved."), code="already_resolved")
    before = _finding_snapshot(finding)
    _move(
        finding,
        OPEN_STATUSES,
        status=FindingStatus.RESOLVED.value,
        resolved_by_id=by.id,
        resolved_at=now,
        resolution_note=note,
        updated_by_id=by.id,
        updated_at=now,
    )
    audit.record(
        "patrol_finding.resolve",
        actor=by,
        now=now,
        target=finding,
        organization_id=finding.segment.team_id,
        before=before,
        after={"status": finding.status},
        note=note,
    )
    return finding


def open_finding_count(segment: RiverSegment) -> int:
    """How many of a segment's findings are not resolved yet."""
    return (
        db.session.scalar(
            select(func.count(PatrolFinding.id)).where(
                PatrolFinding.segment_id == segment.id, PatrolFinding.status.in_(OPEN_STATUSES)
            )
        )
        or 0
    )
