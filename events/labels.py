"""Readable labels of the events area's stored values (kinds, statuses, geofence modes, weekdays)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from events.models import AssignmentStatus, EventKind, EventStatus, GeofenceMode

KIND_LABELS = {
    EventKind.EXPO.value: _l("Large event / expo"),
    EventKind.RIVER_PATROL.value: _l("River patrol"),
    EventKind.COMMUNITY.value: _l("Community service"),
    EventKind.CIVILIZATION.value: _l("Civilization practice"),
    EventKind.TRAINING.value: _l("Training course"),
    EventKind.THEORY_CLASS.value: _l("Pre-membership theory class"),
}
EVENT_STATUS_LABELS = {
    EventStatus.DRAFT.value: _l("Draft"),
    EventStatus.PUBLISHED.value: _l("Published"),
    EventStatus.CANCELLED.value: _l("Cancelled"),
}
ASSIGNMENT_STATUS_LABELS = {
    AssignmentStatus.APPLIED.value: _l("Applied"),
    AssignmentStatus.ASSIGNED.value: _l("Assigned"),
    AssignmentStatus.WAITLISTED.value: _l("Waitlisted"),
    AssignmentStatus.CANCELLED.value: _l("Cancelled"),
    AssignmentStatus.NO_SHOW.value: _l("No-show"),
    AssignmentStatus.COMPLETED.value: _l("Completed"),
}
GEOFENCE_LABELS = {
    GeofenceMode.FLAG.value: _l("Accept and flag check-ins from outside the radius"),
    GeofenceMode.REFUSE.value: _l("Refuse check-ins from outside the radius"),
}
WEEKDAY_LABELS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]
