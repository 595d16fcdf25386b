"""Schemas of the API: published in the OpenAPI document and enforced on every request.

Request schemas are closed (`additionalProperties: false`): a field the client may not
set, such as `status`, `assigned_count` or `created_by_id`, is refused with 422, never
stored. Response schemas list every field the serializers (api/serializers.py) emit;
the tests check each response against them.
"""

from __future__ import annotations

from events.manage.services import MAX_CHECKIN_OPENS_MINUTES, MAX_CUTOFF_HOURS, MAX_RADIUS_M
from events.manage.shifts import MAX_HEADCOUNT
from events.models import AssignmentStatus, EventKind, EventStatus, GeofenceMode
from events.signup.rules import OVERRIDABLE_RULES, RULE_CODES

MAX_ID = 2**31 - 1


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, required: list[str] | None = None, *, closed: bool = False, **extra: object) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


#: request text may not hold NUL (nor unpaired surrogates, which are not text at all): no database stores them
STORABLE = r"^[^\u0000]*$"
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE_TIME = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 / RFC 3339 with a UTC offset, e.g. 2026-05-01T09:00:00+08:00 (years 1970 to 2199).",
}
EVENT_STATUS = {"type": "string", "enum": [s.value for s in EventStatus]}


def text(max_length: int, min_length: int = 0) -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": STORABLE}
    if min_length:
        schema["minLength"] = min_length
    return schema


REASON = text(500)


def page_of(item: str) -> dict:
    return obj(
        {
            "items": {"type": "array", "items": ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 0},
        },
        ["items", "page", "per_page", "total", "pages"],
    )


# -- requests ---------------------------------------------------------------------------

EVENT_FIELDS = {
    "title": text(120, 1),
    "kind": {"type": "string", "enum": [k.value for k in EventKind]},
    "organization_id": {**ID, "description": "The organizer; you must coordinate it."},
    "starts_at": DATE_TIME,
    "ends_at": DATE_TIME,
    "place": text(200),
    "latitude": nullable({"type": "number", "minimum": -90, "maximum": 90}),
    "longitude": nullable({"type": "number", "minimum": -180, "maximum": 180}),
    "checkin_radius_m": nullable({"type": "integer", "minimum": 1, "maximum": MAX_RADIUS_M}),
    "geofence_mode": {"type": "string", "enum": [m.value for m in GeofenceMode]},
    "description": text(10_000),
    "brand_tag": text(40),
    "signup_opens_at": nullable(DATE_TIME),
    "signup_closes_at": nullable(DATE_TIME),
    "cancel_cutoff_hours": {"type": "integer", "minimum": 0, "maximum": MAX_CUTOFF_HOURS},
    "allow_walk_ins": {"type": "boolean"},
    "checkin_opens_minutes": {"type": "integer", "minimum": 0, "maximum": MAX_CHECKIN_OPENS_MINUTES},
    "grants_credential_type_id": nullable(ID),
}
POSITION_FIELDS = {
    "name": text(60, 1),
    "description": text(10_000),
    "min_age": {"type": "integer", "minimum": 0, "maximum": 100},
    "skill_ids": {"type": "array", "items": ID, "maxItems": 100, "uniqueItems": True},
    "credential_type_ids": {"type": "array", "items": ID, "maxItems": 100, "uniqueItems": True},
}
SHIFT_FIELDS = {
    "starts_at": DATE_TIME,
    "ends_at": DATE_TIME,
    "capacity": {"type": "integer", "minimum": 1, "maximum": MAX_HEADCOUNT},
    "meeting_point": text(200),
}
OVERRIDES = {
    "override_rules": {
        "type": "array",
        "maxItems": len(OVERRIDABLE_RULES),
        "uniqueItems": True,
        "items": {"type": "string", "enum": sorted(OVERRIDABLE_RULES)},
        "description": "Sign-up rules the coordinator overrides (needs override_reason).",
    },
    "override_reason": text(1000),
}

REQUESTS = {
    "EventCreate": obj(EVENT_FIELDS, ["title", "kind", "organization_id", "starts_at", "ends_at"], closed=True),
    "EventUpdate": obj(EVENT_FIELDS, closed=True, description="Only the fields given change."),
    "CancelRequest": obj({"reason": REASON}, closed=True),
    "PositionCreate": obj(POSITION_FIELDS, ["name"], closed=True),
    "PositionUpdate": obj(POSITION_FIELDS, closed=True, description="Only the fields given change."),
    "ShiftCreate": obj(SHIFT_FIELDS, ["starts_at", "ends_at", "capacity"], closed=True),
    "ShiftUpdate": obj(SHIFT_FIELDS, closed=True, description="Only the fields given change."),
    "SignupRequest": obj(
        {
            "join_waitlist": {
                "type": "boolean",
                "default": False,
                "description": "Join the waitlist if the shift is full.",
            }
        },
        closed=True,
    ),
    "AssignRequest": obj(
        {
            "user_id": ID,
            **OVERRIDES,
            "quota_organization_id": nullable({**ID, "description": "Fill this team's quota (team coordinators)."}),
        },
        ["user_id"],
        closed=True,
    ),
    "MoveRequest": obj({"to_shift_id": ID, **OVERRIDES}, ["to_shift_id"], closed=True),
    "UnassignRequest": obj({"reason": text(500, 1)}, ["reason"], closed=True),
}

# -- responses --------------------------------------------------------------------------

MY_PLACE = obj(
    {"assignment_id": ID, "status": {"type": "string", "enum": ["assigned", "waitlisted"]}}, ["assignment_id", "status"]
)

RESPONSES = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "description": "Machine-readable reason, e.g. shift_full, forbidden."},
                    "message": {"type": "string", "description": "Readable message in the caller's language."},
                    "field": {"type": "string", "description": "The input field at fault, when there is one."},
                    "details": {"type": "object", "additionalProperties": True},
                },
                ["code", "message"],
            ),
        },
        ["error"],
    ),
    "OrganizationRef": obj(
        {"id": ID, "name": {"type": "string"}, "short_name": {"type": "string"}}, ["id", "name", "short_name"]
    ),
    "NamedRef": obj({"id": ID, "name": {"type": "string"}}, ["id", "name"]),
    "Skill": obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "name_en": {"type": "string"},
            "kind": {"type": "string", "enum": ["skill", "language"]},
        },
        ["id", "name", "name_en", "kind"],
    ),
    "Event": obj(
        {
            "id": ID,
            "title": {"type": "string"},
            "kind": EVENT_FIELDS["kind"],
            "status": EVENT_STATUS,
            "organization": ref("OrganizationRef"),
            "starts_at": DATE_TIME,
            "ends_at": DATE_TIME,
            "place": {"type": "string"},
            "latitude": nullable({"type": "number"}),
            "longitude": nullable({"type": "number"}),
            "checkin_radius_m": nullable({"type": "integer"}),
            "geofence_mode": EVENT_FIELDS["geofence_mode"],
            "description": {"type": "string"},
            "brand_tag": {"type": "string"},
            "signup_opens_at": nullable(DATE_TIME),
            "signup_closes_at": nullable(DATE_TIME),
            "cancel_cutoff_hours": {"type": "integer"},
            "allow_walk_ins": {"type": "boolean"},
            "checkin_opens_minutes": {"type": "integer"},
            "grants_credential_type_id": nullable(ID),
            "published_at": nullable(DATE_TIME),
            "cancelled_at": nullable(DATE_TIME),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
        },
        [
            "id",
            "title",
            "kind",
            "status",
            "organization",
            "starts_at",
            "ends_at",
            "place",
            "latitude",
            "longitude",
            "checkin_radius_m",
            "geofence_mode",
            "description",
            "brand_tag",
            "signup_opens_at",
            "signup_closes_at",
            "cancel_cutoff_hours",
            "allow_walk_ins",
            "checkin_opens_minutes",
            "grants_credential_type_id",
            "published_at",
            "cancelled_at",
            "created_at",
            "updated_at",
        ],
    ),
    "Position": obj(
        {
            "id": ID,
            "event_id": ID,
            "name": {"type": "string"},
            "description": {"type": "string"},
            "min_age": {"type": "integer"},
            "required_skills": {"type": "array", "items": ref("Skill")},
            "required_credentials": {"type": "array", "items": ref("NamedRef")},
        },
        ["id", "event_id", "name", "description", "min_age", "required_skills", "required_credentials"],
    ),
    "EventDetail": {
        "allOf": [ref("Event"), obj({"positions": {"type": "array", "items": ref("Position")}}, ["positions"])]
    },
    "Shift": obj(
        {
            "id": ID,
            "event_id": ID,
            "position": ref("NamedRef"),
            "starts_at": DATE_TIME,
            "ends_at": DATE_TIME,
            "capacity": {"type": "integer", "minimum": 0},
            "assigned_count": {"type": "integer", "minimum": 0},
            "open_places": {"type": "integer", "minimum": 0},
            "waitlisted_count": {"type": "integer", "minimum": 0},
            "meeting_point": {"type": "string"},
            "is_cancelled": {"type": "boolean"},
            "my_place": nullable({**MY_PLACE, "description": "The caller's live place on this shift."}),
        },
        [
            "id",
            "event_id",
            "position",
            "starts_at",
            "ends_at",
            "capacity",
            "assigned_count",
            "open_places",
            "waitlisted_count",
            "meeting_point",
            "is_cancelled",
            "my_place",
        ],
    ),
    "VolunteerRef": obj(
        {"id": ID, "name": {"type": "string"}, "volunteer_number": {"type": "string"}},
        ["id", "name", "volunteer_number"],
    ),
    "Assignment": obj(
        {
            "id": ID,
            "status": {"type": "string", "enum": [s.value for s in AssignmentStatus]},
            "source": {"type": "string"},
            "volunteer": ref("VolunteerRef"),
            "shift": obj(
                {
                    "id": ID,
                    "starts_at": DATE_TIME,
                    "ends_at": DATE_TIME,
                    "meeting_point": {"type": "string"},
                    "is_cancelled": {"type": "boolean"},
                },
                ["id", "starts_at", "ends_at", "meeting_point", "is_cancelled"],
            ),
            "position": ref("NamedRef"),
            "event": obj(
                {"id": ID, "title": {"type": "string"}, "status": EVENT_STATUS, "place": {"type": "string"}},
                ["id", "title", "status", "place"],
            ),
            "quota_organization_id": nullable(ID),
            "override_rules": {"type": "array", "items": {"type": "string"}},
            "override_reason": {"type": "string"},
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "cancelled_at": nullable(DATE_TIME),
        },
        [
            "id",
            "status",
            "source",
            "volunteer",
            "shift",
            "position",
            "event",
            "quota_organization_id",
            "override_rules",
            "override_reason",
            "created_at",
            "updated_at",
            "cancelled_at",
        ],
    ),
    "OpenApiDocument": {"type": "object", "additionalProperties": True, "description": "An OpenAPI 3.0 document."},
    "EventPage": page_of("Event"),
    "ShiftPage": page_of("Shift"),
    "AssignmentPage": page_of("Assignment"),
}

SCHEMAS = {**REQUESTS, **RESPONSES}

#: codes a refused sign-up or assignment answers with (409), in the order the rules are checked
REFUSAL_CODES = list(RULE_CODES)

# -- query parameters --------------------------------------------------------------------


def query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [
    query("page", {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1}, "Page number."),
    query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Items per page."),
]
