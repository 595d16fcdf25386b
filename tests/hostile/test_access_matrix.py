"""Access-control matrix over the routes that take an id: every actor around one 南城街道 event (its
owner volunteer, another volunteer, coordinator/reviewer/admin of the event's own organization, of a
sibling, of the parent and of a child) gets 200/302 where it should and 403/404 where it must; POSTs
by outsiders are refused and change nothing. A new <int:> route must be added to MATRIX, POST_ONLY or
NOT_IN_MATRIX (with a reason), or test_every_id_route_is_reviewed fails."""
from __future__ import annotations

from sqlalchemy import select

from api.tokens import create_token
from app.models import RoleGrant, User
from app.timeutil import utcnow
from events.models import Assignment, Event, Position, Shift

ROLES = ("coordinator", "reviewer", "admin")
WHERE = ("own", "sibling", "parent", "child")
ALL = frozenset({"owner", "other_volunteer"} | {f"{r}@{w}" for r in ROLES for w in WHERE})
MANAGE = frozenset({"coordinator@own", "coordinator@parent", "admin@own", "admin@parent"})
REVIEW = frozenset({"reviewer@own", "reviewer@parent", "admin@own", "admin@parent"})
# the owner volunteer belongs to 南城街道志愿服务队, the "child" organization: roles there cover the person
PERSON_STAFF = frozenset(f"{r}@{w}" for r in ROLES for w in ("own", "parent", "child"))
PUBLIC = ALL  # published event, its positions and shifts: any signed-in volunteer may read them

# GET routes: the actors that may see the page; every other actor must get 403 or 404.
MATRIX = {
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
    "/events/<int:event_id>/staffing/team": frozenset(),  # only coordinators of a team holding a quota
    "/events/positions/<int:position_id>/edit": MANAGE,
    "/events/positions/<int:position_id>/shifts/new": MANAGE,
    "/events/shifts/<int:shift_id>/edit": MANAGE,
    "/events/staffing/assignments/<int:assignment_id>/move": MANAGE,
    "/events/staffing/shifts/<int:shift_id>": MANAGE,
    "/hours/certificates/volunteers/<int:user_id>": PERSON_STAFF | {"owner"},  # owner: redirect to own page
    "/hours/events/<int:event_id>": MANAGE,
    "/hours/events/<int:event_id>/backfill": MANAGE,
    "/hours/membership/applicants/<int:user_id>": PERSON_STAFF,
    "/hours/review/events/<int:event_id>": REVIEW,
    "/volunteers/<int:user_id>": PERSON_STAFF | {"owner"},
    "/volunteers/<int:user_id>/edit": frozenset({"owner", "admin@own", "admin@parent", "admin@child"}),
}

# POST/PATCH/DELETE routes on the same objects, checked for outsiders (below) only.
POST_ONLY = {
    "/api/v1/assignments/<int:assignment_id>", "/api/v1/assignments/<int:assignment_id>/cancel",
    "/api/v1/assignments/<int:assignment_id>/move", "/api/v1/events/<int:event_id>",
    "/api/v1/events/<int:event_id>/cancel", "/api/v1/events/<int:event_id>/positions",
    "/api/v1/events/<int:event_id>/publish", "/api/v1/positions/<int:position_id>",
    "/api/v1/positions/<int:position_id>/shifts", "/api/v1/shifts/<int:shift_id>",
    "/api/v1/shifts/<int:shift_id>/assignments", "/api/v1/shifts/<int:shift_id>/cancel",
    "/checkin/events/<int:event_id>/manual", "/events/<int:event_id>/cancel", "/events/<int:event_id>/edit",
    "/events/<int:event_id>/positions/new", "/events/<int:event_id>/publish", "/events/<int:event_id>/shifts/bulk",
    "/events/<int:event_id>/staffing/quotas", "/events/assignments/<int:assignment_id>/cancel",
    "/events/positions/<int:position_id>/delete", "/events/positions/<int:position_id>/edit",
    "/events/positions/<int:position_id>/shifts/new", "/events/shifts/<int:shift_id>/cancel",
    "/events/shifts/<int:shift_id>/delete", "/events/shifts/<int:shift_id>/edit",
    "/events/staffing/assignments/<int:assignment_id>/move", "/events/staffing/assignments/<int:assignment_id>/no-show",
    "/events/staffing/assignments/<int:assignment_id>/unassign", "/events/staffing/shifts/<int:shift_id>/assign",
    "/hours/certificates/volunteers/<int:user_id>", "/hours/events/<int:event_id>/backfill",
    "/hours/events/<int:event_id>/submit", "/hours/membership/applicants/<int:user_id>/evaluation",
    "/hours/membership/applicants/<int:user_id>/verification", "/hours/review/events/<int:event_id>",
    "/volunteers/<int:user_id>/edit", "/volunteers/<int:user_id>/id-number",
}
# Any signed-in volunteer may sign up to a published shift: not an outsider refusal.
SELF_SERVICE = {"/api/v1/shifts/<int:shift_id>/signup", "/events/shifts/<int:shift_id>/sign-up"}
# Outsiders who must never change anything on the 南城 event or its owner's records.
OUTSIDERS = ("other_volunteer", "coordinator@sibling", "reviewer@sibling", "admin@sibling")

# Routes on objects this matrix does not build yet; each is covered by its own area's tests.
NOT_IN_MATRIX = {
    "/admin/import/<int:job_id>", "/admin/import/<int:job_id>/progress",  # tests/import
    "/admin/roles/<int:grant_id>/revoke",  # tests/volunteers (role grants)
    "/checkin/attendance/<int:attendance_id>/check-out", "/checkin/scans/<int:scan_id>/resolve",  # tests/checkin
    "/events/staffing/quotas/<int:quota_id>/remove",  # tests/events (quotas)
    "/events/staffing/quotas/<int:quota_id>/shifts/<int:shift_id>/fill",
    "/hours/certificates/<int:certificate_id>", "/hours/certificates/<int:certificate_id>.pdf",  # tests/hours
    "/hours/certificates/<int:certificate_id>/revoke", "/hours/disputes/<int:dispute_id>",
    "/hours/entries/<int:entry_id>", "/hours/entries/<int:entry_id>/correct", "/hours/entries/<int:entry_id>/decide",
    "/hours/entries/<int:entry_id>/dispute", "/hours/evidence/<int:evidence_id>",
    "/notifications/<int:notification_id>/read",  # tests/platform
    "/patrols/findings/<int:finding_id>/edit", "/patrols/findings/<int:finding_id>/forward",  # tests/patrols
    "/patrols/findings/<int:finding_id>/resolve", "/patrols/patrols/<int:patrol_id>/report",
    "/patrols/photos/<int:photo_id>", "/patrols/photos/<int:photo_id>/delete", "/patrols/reports/<int:report_id>",
    "/patrols/reports/<int:report_id>/findings", "/patrols/reports/<int:report_id>/summary",
    "/patrols/schedules/<int:schedule_id>/edit", "/patrols/segments/<int:segment_id>",
    "/patrols/segments/<int:segment_id>/edit", "/patrols/segments/<int:segment_id>/reports",
    "/patrols/segments/<int:segment_id>/schedules/new", "/patrols/teams/<int:team_id>",
}


def _id_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]


def _url(rule: str, ids: dict) -> str:
    for name, value in ids.items():
        rule = rule.replace(f"<int:{name}>", str(value))
    return rule


def _ids(staffed_event) -> dict:
    return {"event_id": staffed_event["event"].id, "shift_id": staffed_event["shift"].id,
            "position_id": staffed_event["position"].id, "assignment_id": staffed_event["assignment"].id,
            "user_id": staffed_event["owner"].id}


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


def _snapshot(db) -> list:
    rows = []
    for model in (Event, Position, Shift, Assignment, User, RoleGrant):
        table = model.__table__
        rows.append(sorted(tuple(map(str, row)) for row in db.session.execute(select(table)).all()))
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
    reviewed = set(MATRIX) | POST_ONLY | SELF_SERVICE | NOT_IN_MATRIX
    assert rules - reviewed == set(), "add these id routes to the access matrix"
    assert reviewed - rules == set(), "these reviewed routes no longer exist"
    assert not (set(MATRIX) | POST_ONLY) & NOT_IN_MATRIX


def test_get_matrix(app, db, staffed_event, actors, make_client, login):
    web, api = _clients(actors, make_client, login, db)
    ids = _ids(staffed_event)
    wrong = []
    for rule, allowed in sorted(MATRIX.items()):
        url = _url(rule, ids)
        for name in sorted(ALL):
            status = _open(web, api, name, "GET", url).status_code
            expected = (200, 302) if name in allowed else (403, 404)
            if status not in expected:
                wrong.append((rule, name, status))
    assert wrong == [], "\n".join(map(str, wrong))


def test_outsiders_cannot_change_anything(app, db, staffed_event, actors, make_client, login):
    web, api = _clients(actors, make_client, login, db)
    ids = _ids(staffed_event)
    before = _snapshot(db)
    methods = {rule.rule: rule.methods - {"GET", "HEAD", "OPTIONS"} for rule in _id_rules(app)}
    wrong = []
    for rule in sorted(POST_ONLY):
        url = _url(rule, ids)
        for method in sorted(methods[rule]):
            # roles at the child team hold over the owner (a member) but not over the 南城街道 event
            names = OUTSIDERS if "user_id" in rule else OUTSIDERS + ("coordinator@child", "admin@child")
            for name in names:
                if url.startswith("/api/"):
                    response = _open(web, api, name, method, url, json=_api_body(rule, method, staffed_event))
                else:
                    response = _open(web, api, name, method, url, data={"reason": "x", "confirm": "y"})
                if response.status_code not in (403, 404):
                    wrong.append((method, rule, name, response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))
    assert _snapshot(db) == before
