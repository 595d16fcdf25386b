"""Access-control matrix over the routes that take an id: every actor around one 南城街道 event (its
owner volunteer, another volunteer, coordinator/reviewer/admin of the event's own organization, of a
sibling, of the parent and of a child) gets 200/302 where it should and 403/404 where it must; POSTs
by outsiders are refused and change nothing. The objects are the 南城 event and the owner's records
around it (tests/hostile/conftest.py): hours, dispute, certificate, evidence, attendance, scans,
notification, quota, import, role grant, and a patrol report of the segment the owner's team adopts.
A new <int:> route must be added to MATRIX, POST_ONLY or NOT_IN_MATRIX (with a reason), or
test_every_id_route_is_reviewed fails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.tokens import create_token
from app.extensions import db as _db
from app.timeutil import utcnow

ROLES = ("coordinator", "reviewer", "admin")
WHERE = ("own", "sibling", "parent", "child")
ALL = frozenset({"owner", "other_volunteer"} | {f"{r}@{w}" for r in ROLES for w in WHERE})
MANAGE = frozenset({"coordinator@own", "coordinator@parent", "admin@own", "admin@parent"})
REVIEW = frozenset({"reviewer@own", "reviewer@parent", "admin@own", "admin@parent"})
# the owner volunteer belongs to 南城街道志愿服务队, the "child" organization: roles there cover the person
PERSON_STAFF = frozenset(f"{r}@{w}" for r in ROLES for w in ("own", "parent", "child"))
PUBLIC = ALL  # published event, its positions and shifts: any signed-in volunteer may read them
# staff of the organizer (南城街道) or above: the owner's hours of a 南城 event are theirs too, not the team's
ORGANIZER_STAFF = frozenset(f"{r}@{w}" for r in ROLES for w in ("own", "parent"))
# the quota and the river segment belong to 南城街道志愿服务队 (the child): its coordinators hold over them
TEAM_MANAGE = MANAGE | {"coordinator@child", "admin@child"}
# a segment's reports: coordinators over the adopting team, and the team's members (the child's reviewer is one)
PATROL_VIEW = TEAM_MANAGE | {"owner", "other_volunteer", "reviewer@child"}
# filing and editing the report: coordinators over the team and who was on the patrol (the owner)
PATROL_EDIT = TEAM_MANAGE | {"owner"}

# GET routes: the actors that may see the page; every other actor must get 403 or 404.
MATRIX = {
    # the owner asks to move into 南城街道 itself: its reviewers and administrators (and the city's) decide
    "/admin/affiliation/<int:change_id>": REVIEW,
    # 东莞理工学院's hand-over page: reviewers and administrators over the university (here: the city's)
    "/admin/affiliation/handover/<int:university_id>": frozenset({"reviewer@parent", "admin@parent"}),
    "/admin/import/<int:job_id>": frozenset({"admin@own", "admin@parent", "admin@child"}),  # into the team
    "/admin/import/<int:job_id>/progress": frozenset({"admin@own", "admin@parent", "admin@child"}),
    # 南城街道 itself: its administrators and the city's
    "/admin/organizations/<int:org_id>": frozenset({"admin@own", "admin@parent"}),
    "/admin/people/<int:user_id>/account": frozenset({"admin@own", "admin@parent", "admin@child"}),  # over the person
    "/api/v1/assignments/<int:assignment_id>": MANAGE | {"owner"},
    "/api/v1/events/<int:event_id>": PUBLIC,
    "/api/v1/events/<int:event_id>/shifts": PUBLIC,
    "/api/v1/positions/<int:position_id>": PUBLIC,
    "/api/v1/shifts/<int:shift_id>": PUBLIC,
    "/api/v1/shifts/<int:shift_id>/assignments": MANAGE,
    "/checkin/events/<int:event_id>": MANAGE,
    "/checkin/events/<int:event_id>/attendance": MANAGE,
    "/checkin/events/<int:event_id>/dashboard": MANAGE,
    "/checkin/events/<int:event_id>/dashboard.json": MANAGE,
    "/checkin/events/<int:event_id>/kiosk": MANAGE,
    "/checkin/events/<int:event_id>/kiosk/qr.svg": MANAGE,
    "/checkin/events/<int:event_id>/kiosk/status.json": MANAGE,
    "/checkin/events/<int:event_id>/scanner": MANAGE,
    "/events/<int:event_id>": PUBLIC,
    "/events/<int:event_id>/edit": MANAGE,
    "/events/<int:event_id>/manage": MANAGE,
    "/events/<int:event_id>/positions/new": MANAGE,
    "/events/<int:event_id>/shifts/bulk": MANAGE,
    "/events/<int:event_id>/staffing": MANAGE,
    "/events/<int:event_id>/staffing/quotas": MANAGE,
    "/events/<int:event_id>/staffing/roster.xlsx": MANAGE,
    "/events/<int:event_id>/staffing/sign-in-sheet": MANAGE,
    "/events/<int:event_id>/staffing/team": TEAM_MANAGE,  # coordinators over the team holding the quota
    "/events/positions/<int:position_id>/edit": MANAGE,
    "/events/positions/<int:position_id>/shifts/new": MANAGE,
    "/events/shifts/<int:shift_id>/edit": MANAGE,
    "/events/staffing/assignments/<int:assignment_id>/move": MANAGE,
    "/events/staffing/shifts/<int:shift_id>": MANAGE,
    "/hours/certificates/<int:certificate_id>": PERSON_STAFF | {"owner"},
    "/hours/certificates/<int:certificate_id>.pdf": PERSON_STAFF | {"owner"},
    "/hours/certificates/volunteers/<int:user_id>": PERSON_STAFF | {"owner"},  # owner: redirect to own page
    "/hours/disputes/<int:dispute_id>": REVIEW,
    "/hours/entries/<int:entry_id>": ORGANIZER_STAFF | {"owner"},
    "/hours/entries/<int:entry_id>/dispute": frozenset({"owner"}),
    "/hours/events/<int:event_id>": MANAGE,
    "/hours/events/<int:event_id>/backfill": MANAGE,
    "/hours/evidence/<int:evidence_id>": ORGANIZER_STAFF,  # a paper sheet lists other people: not the owner
    "/hours/membership/applicants/<int:user_id>": PERSON_STAFF,
    "/hours/review/events/<int:event_id>": REVIEW,
    "/patrols/findings/<int:finding_id>/edit": PATROL_EDIT,
    "/patrols/patrols/<int:patrol_id>/report": PATROL_EDIT,  # the report is filed: a redirect to it
    "/patrols/photos/<int:photo_id>": PATROL_VIEW,
    "/patrols/reports/<int:report_id>": PATROL_VIEW,
    "/patrols/schedules/<int:schedule_id>/edit": TEAM_MANAGE,
    "/patrols/segments/<int:segment_id>": PUBLIC,
    "/patrols/segments/<int:segment_id>/edit": TEAM_MANAGE,
    "/patrols/segments/<int:segment_id>/reports": PATROL_VIEW,
    "/patrols/segments/<int:segment_id>/schedules/new": TEAM_MANAGE,
    "/patrols/teams/<int:team_id>": PUBLIC,
    "/volunteers/<int:user_id>": PERSON_STAFF | {"owner"},
    "/volunteers/<int:user_id>/edit": frozenset({"owner", "admin@own", "admin@parent", "admin@child"}),
}

# POST/PATCH/DELETE routes on the same objects, checked for outsiders (below) only.
POST_ONLY = {
    "/admin/people/<int:user_id>/disable",
    "/admin/people/<int:user_id>/enable",
    "/admin/organizations/<int:org_id>/children",
    "/admin/organizations/<int:org_id>/rename",
    "/admin/organizations/<int:org_id>/move",
    "/admin/organizations/<int:org_id>/close",
    "/admin/affiliation/<int:change_id>/approve",
    "/admin/affiliation/<int:change_id>/refuse",
    "/admin/affiliation/handover/<int:university_id>",
    "/affiliation/<int:change_id>/cancel",
    "/admin/roles/<int:grant_id>/revoke",
    "/api/v1/assignments/<int:assignment_id>",
    "/api/v1/assignments/<int:assignment_id>/cancel",
    "/api/v1/assignments/<int:assignment_id>/move",
    "/api/v1/events/<int:event_id>",
    "/api/v1/events/<int:event_id>/cancel",
    "/api/v1/events/<int:event_id>/positions",
    "/api/v1/events/<int:event_id>/publish",
    "/api/v1/positions/<int:position_id>",
    "/api/v1/positions/<int:position_id>/shifts",
    "/api/v1/shifts/<int:shift_id>",
    "/api/v1/shifts/<int:shift_id>/assignments",
    "/api/v1/shifts/<int:shift_id>/cancel",
    "/checkin/attendance/<int:attendance_id>/check-out",
    "/checkin/events/<int:event_id>/manual",
    "/checkin/scans/<int:scan_id>/resolve",
    "/events/<int:event_id>/cancel",
    "/events/<int:event_id>/edit",
    "/events/<int:event_id>/positions/new",
    "/events/<int:event_id>/publish",
    "/events/<int:event_id>/shifts/bulk",
    "/events/<int:event_id>/staffing/quotas",
    "/events/assignments/<int:assignment_id>/cancel",
    "/events/positions/<int:position_id>/delete",
    "/events/positions/<int:position_id>/edit",
    "/events/positions/<int:position_id>/shifts/new",
    "/events/shifts/<int:shift_id>/cancel",
    "/events/shifts/<int:shift_id>/delete",
    "/events/shifts/<int:shift_id>/edit",
    "/events/staffing/assignments/<int:assignment_id>/move",
    "/events/staffing/assignments/<int:assignment_id>/no-show",
    "/events/staffing/assignments/<int:assignment_id>/unassign",
    "/events/staffing/quotas/<int:quota_id>/remove",
    "/events/staffing/quotas/<int:quota_id>/shifts/<int:shift_id>/fill",
    "/events/staffing/shifts/<int:shift_id>/assign",
    "/hours/certificates/<int:certificate_id>/revoke",
    "/hours/certificates/volunteers/<int:user_id>",
    "/hours/disputes/<int:dispute_id>",
    "/hours/entries/<int:entry_id>/correct",
    "/hours/entries/<int:entry_id>/decide",
    "/hours/entries/<int:entry_id>/dispute",
    "/hours/events/<int:event_id>/backfill",
    "/hours/events/<int:event_id>/submit",
    "/hours/membership/applicants/<int:user_id>/evaluation",
    "/hours/membership/applicants/<int:user_id>/verification",
    "/hours/review/events/<int:event_id>",
    "/notifications/<int:notification_id>/read",
    "/patrols/findings/<int:finding_id>/edit",
    "/patrols/findings/<int:finding_id>/forward",
    "/patrols/findings/<int:finding_id>/resolve",
    "/patrols/patrols/<int:patrol_id>/report",
    "/patrols/photos/<int:photo_id>/delete",
    "/patrols/reports/<int:report_id>/findings",
    "/patrols/reports/<int:report_id>/summary",
    "/patrols/schedules/<int:schedule_id>/edit",
    "/patrols/segments/<int:segment_id>/edit",
    "/patrols/segments/<int:segment_id>/schedules/new",
    "/volunteers/<int:user_id>/edit",
    "/volunteers/<int:user_id>/id-number",
    "/volunteers/<int:user_id>/reset-link",
}
# Any signed-in volunteer may sign up to a published shift: not an outsider refusal.
SELF_SERVICE = {"/api/v1/shifts/<int:shift_id>/signup", "/events/shifts/<int:shift_id>/sign-up"}
# Outsiders who must never change anything on the 南城 event or its owner's records.
OUTSIDERS = ("other_volunteer", "coordinator@sibling", "reviewer@sibling", "admin@sibling")
# Roles at the child team are outsiders to the 南城 event too, except where the object is the team's: its
# members (the user_id routes), its quota and the river segment it adopts.
TEAM_OBJECTS = ("user_id", "quota_id>/shifts", "/patrols/")

# Routes the matrix cannot reach, each with the reason why (none today: every id route is in the matrix).
NOT_IN_MATRIX: dict[str, str] = {}


def _id_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]


def _url(rule: str, ids: dict) -> str:
    for name, value in ids.items():
        rule = rule.replace(f"<int:{name}>", str(value))
    return rule


@pytest.fixture
def affiliation_change(db, orgs, staffed_event):
    """The owner's pending request to move from 南城街道志愿服务队 to 南城街道 itself."""
    from volunteers.affiliation.services import request_move

    change = request_move(staffed_event["owner"], orgs["nancheng"].id, "敌意测试", now=utcnow())
    db.session.commit()
    return change


@pytest.fixture
def ids(orgs, staffed_event, past_service, hours_records, patrol_records, admin_records, affiliation_change) -> dict:
    """The id of every object the matrix opens, by the name of the route's parameter."""
    return {
        "event_id": staffed_event["event"].id,
        "shift_id": staffed_event["shift"].id,
        "position_id": staffed_event["position"].id,
        "assignment_id": staffed_event["assignment"].id,
        "user_id": staffed_event["owner"].id,
        "attendance_id": past_service["attendance"].id,
        "scan_id": past_service["scan"].id,
        "entry_id": hours_records["entry"].id,
        "dispute_id": hours_records["dispute"].id,
        "certificate_id": hours_records["certificate"].id,
        "evidence_id": hours_records["evidence"].id,
        "notification_id": hours_records["notification"].id,
        "segment_id": patrol_records["segment"].id,
        "schedule_id": patrol_records["schedule"].id,
        "patrol_id": patrol_records["patrol"].id,
        "report_id": patrol_records["report"].id,
        "finding_id": patrol_records["finding"].id,
        "photo_id": patrol_records["photo"].id,
        "team_id": orgs["nancheng_team"].id,
        "job_id": admin_records["job"].id,
        "quota_id": admin_records["quota"].id,
        "grant_id": admin_records["grant"].id,
        "change_id": affiliation_change.id,
        "university_id": orgs["dgut"].id,
        "org_id": orgs["nancheng"].id,
    }


def _clients(actors, make_client, login, db):
    """Per actor: a logged-in web client and a bearer-token client for /api/v1."""
    web, api = {}, {}
    for name, user in actors.items():
        web[name] = login(user, target=make_client())
        _token, secret = create_token(user, "matrix", by=None, now=utcnow())
        api[name] = (make_client(), {"Authorization": f"Bearer {secret}"})
    db.session.commit()
    return web, api


def _open(web, api, name, method, url, **kwargs):
    if url.startswith("/api/"):
        client, headers = api[name]
        return client.open(url, method=method, headers=headers, **kwargs)
    return web[name].open(url, method=method, **kwargs)


# written by any authenticated API request: the token's last use
NOT_SNAPSHOT = {"api_tokens"}


def _snapshot(db) -> dict:
    """Every row of every table but NOT_SNAPSHOT, as text."""
    rows = {}
    for table in _db.metadata.sorted_tables:
        if table.name not in NOT_SNAPSHOT:
            rows[table.name] = sorted(tuple(map(str, row)) for row in db.session.execute(select(table)).all())
    db.session.expire_all()
    return rows


def _api_body(rule: str, method: str, staffed_event) -> dict:
    """A body the API accepts as valid, so that the refusal comes from the permission check."""
    shift = staffed_event["shift"]
    times = {"starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat()}
    if method == "PATCH":
        return {"capacity": 1} if "shifts" in rule else {"name": "改名"} if "positions" in rule else {"title": "改名"}
    if rule.endswith("/positions"):
        return {"name": "新岗位"}
    if rule.endswith("/shifts"):
        return {**times, "capacity": 3}
    if rule.endswith("/assignments"):
        return {"user_id": staffed_event["owner"].id}
    if rule.endswith("/move"):
        return {"to_shift_id": shift.id}
    return {"reason": "敌意测试"}


def test_every_id_route_is_reviewed(app):
    rules = {rule.rule for rule in _id_rules(app)}
    reviewed = set(MATRIX) | POST_ONLY | SELF_SERVICE | set(NOT_IN_MATRIX)
    assert rules - reviewed == set(), "add these id routes to the access matrix"
    assert reviewed - rules == set(), "these reviewed routes no longer exist"
    assert not (set(MATRIX) | POST_ONLY) & set(NOT_IN_MATRIX)
    assert all(reason.strip() for reason in NOT_IN_MATRIX.values()), "say why a route is left out"


def test_get_matrix(app, db, actors, ids, make_client, login):
    web, api = _clients(actors, make_client, login, db)
    wrong = []
    for rule, allowed in sorted(MATRIX.items()):
        url = _url(rule, ids)
        for name in sorted(ALL):
            response = _open(web, api, name, "GET", url)
            status = response.status_code
            expected = (200, 302) if name in allowed else (403, 404)
            if status not in expected or response.headers.get("Location", "").startswith("/login"):
                wrong.append((rule, name, status))
    assert wrong == [], "\n".join(map(str, wrong))


def test_outsiders_cannot_change_anything(app, db, staffed_event, actors, ids, make_client, login):
    web, api = _clients(actors, make_client, login, db)
    before = _snapshot(db)
    methods = {rule.rule: rule.methods - {"GET", "HEAD", "OPTIONS"} for rule in _id_rules(app)}
    wrong = []
    for rule in sorted(POST_ONLY):
        url = _url(rule, ids)
        for method in sorted(methods[rule]):
            team_object = any(part in rule for part in TEAM_OBJECTS)
            names = OUTSIDERS if team_object else (*OUTSIDERS, "coordinator@child", "admin@child")
            for name in names:
                if url.startswith("/api/"):
                    response = _open(web, api, name, method, url, json=_api_body(rule, method, staffed_event))
                else:
                    response = _open(web, api, name, method, url, data={"reason": "x", "confirm": "y"})
                if response.status_code not in (403, 404):
                    wrong.append((method, rule, name, response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))
    assert _snapshot(db) == before
