"""The express lane of POST /api/v1/scans (api/express.py) is invisible to the scanner.

On PostgreSQL a plain live badge check-in, sent with a token whose use was recorded lately (a warmed one,
see conftest.py), is answered by the lane with raw SQL; every other request takes the normal path
(api/routes/scans.py -> checkin). These tests prove that the same check-in through either lane gives the same
answer, headers, attendances and scans rows and picks the same shift; that the lane answers a plain live
check-in; and that everything else passes untouched to the normal path, which answers as before. The lane
never runs on SQLite, so the module is skipped there.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.models import ApiToken
from api.tokens import hash_token, revoke_token
from app.timeutil import to_local, utcnow
from checkin.scanning.corrections import void_attendance
from checkin.tokens import parse_badge_token
from tests.checkin.api.express.lane_support import lane, live, remaining, results, rows, scan_one, through
from tests.support import is_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not is_postgres(),
        reason="the express lane runs on PostgreSQL only: set TEST_DATABASE_URL=postgresql+psycopg://...",
    ),
]


# -- 1. parity: the same check-in through either lane ---------------------------------------------------


def anonymized(result: dict, volunteer, client_scan_id: str, before: datetime, after: datetime) -> dict:
    """The result with what legitimately differs between two volunteers' check-ins checked, then replaced:
    the client scan id, the volunteer, the attendance id, the time (the request's) and that time in the message."""
    at = datetime.fromisoformat(result["at"])
    assert before <= at <= after and result["client_scan_id"] == client_scan_id
    assert result["volunteer"] == {
        "id": volunteer.id,
        "name": volunteer.name,
        "volunteer_number": volunteer.volunteer_number,
    }
    clock = to_local(at).strftime("%H:%M")
    assert clock in result["message"]
    return {
        **result,
        "client_scan_id": "<client>",
        "volunteer": "<volunteer>",
        "attendance_id": "<attendance>",
        "at": "<at>",
        "message": result["message"].replace(clock, "<HH:MM>", 1),
    }


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def stay_rows(db, volunteer, result: dict, token: str) -> tuple[dict, dict]:
    """The volunteer's attendance and scan rows, with ids, digest and times checked, then removed."""
    [attendance] = rows(db, "attendances", user_id=volunteer.id)
    [scan] = rows(db, "scans", user_id=volunteer.id)
    at = naive(datetime.fromisoformat(result["at"]))
    assert attendance["id"] == scan["attendance_id"] == result["attendance_id"]
    assert attendance["checked_in_at"] == attendance["created_at"] == attendance["updated_at"] == at
    assert scan["scanned_at"] == scan["received_at"] == at
    assert scan["client_scan_id"] == result["client_scan_id"]
    assert scan["token_digest"] == parse_badge_token(token, now=datetime.fromisoformat(result["at"])).digest
    [assignment] = rows(db, "assignments", user_id=volunteer.id, shift_id=attendance["shift_id"])
    assert attendance["assignment_id"] == assignment["id"]
    for name in ("id", "user_id", "assignment_id", "checked_in_at", "created_at", "updated_at"):
        attendance.pop(name)
    for name in ("id", "user_id", "attendance_id", "scanned_at", "received_at", "client_scan_id", "token_digest"):
        scan.pop(name)
    return attendance, scan


#: the volunteer's shifts as (starts, ends, cancelled) in minutes from now (check-in opens 30 minutes
#: before a start), and the index of the one a check-in is for
SHIFT_CHOICES = [
    pytest.param([(-60, 120, False)], 0, id="under-way"),
    pytest.param([(-60, 120, False), (20, 240, False)], 0, id="under-way-and-a-later-one-open"),
    pytest.param([(20, 240, False)], 0, id="only-an-upcoming-one-in-the-window"),
    pytest.param([(-240, -60, False), (25, 240, False), (10, 240, False)], 2, id="one-over-and-two-upcoming"),
    pytest.param([(-60, 120, True), (20, 240, False)], 1, id="a-cancelled-one-under-way-and-an-upcoming-one"),
]


@pytest.mark.parametrize("shifts, chosen", SHIFT_CHOICES)
def test_both_lanes_make_the_same_check_in(
    app,
    db,
    express_scanner,
    scan_body,
    badge,
    make_user,
    make_shift,
    position,
    assign,
    coordinator,
    now,
    shifts,
    chosen,
):
    made = [
        make_shift(
            position,
            starts_at=now + timedelta(minutes=starts),
            ends_at=now + timedelta(minutes=ends),
            is_cancelled=cancelled,
        )
        for starts, ends, cancelled in shifts
    ]
    twins = {"express": make_user(name="同款甲"), "normal": make_user(name="同款乙")}
    for twin in twins.values():
        for shift in made:
            assign(shift, twin)

    answers, stays, headers = {}, {}, {}
    for lane_name, twin in twins.items():
        token, client = badge(twin), f"{lane_name}-1"
        before = utcnow()
        with through(app, lane_name, express=1):
            response = express_scanner.post("/scans", json=scan_body(live(token, client)), expect=200)
        document, [result] = response.get_json(), results(response)
        assert (document["event_id"], document["device_id"], len(document)) == (position.event_id, "gate-1", 3)
        answers[lane_name] = anonymized(result, twin, client, before, utcnow())
        stays[lane_name] = stay_rows(db, twin, result, token)
        headers[lane_name] = sorted(response.headers.keys())

    assert answers["express"] == answers["normal"] and headers["express"] == headers["normal"]
    assert answers["express"]["action"] == "check_in" and answers["express"]["shift"]["id"] == made[chosen].id
    assert stays["express"] == stays["normal"]
    attendance, scan = stays["express"]
    assert (attendance["shift_id"], attendance["status"], attendance["checked_in_by_id"]) == (
        made[chosen].id,
        "open",
        coordinator.id,
    )
    assert (scan["action"], scan["result"], scan["scanned_by_id"]) == ("check_in", "ok", coordinator.id)


# -- 2. the lane answers a plain live check-in ------------------------------------------------------------


@pytest.mark.parametrize("extra", ["nothing", "offline-false", "offline-false-and-scanned-at"])
def test_the_lane_answers_a_plain_live_check_in(
    express_scanner, scan_body, badge, volunteer, shift, assignment, attendances, extra
):
    device_time = utcnow() - timedelta(seconds=20)  # a live scan takes the server's time, whatever the device says
    fields = {
        "nothing": {},
        "offline-false": {"offline": False},
        "offline-false-and-scanned-at": {"offline": False, "scanned_at": device_time.isoformat()},
    }[extra]
    before = utcnow()
    with lane(express=1):
        response = express_scanner.post("/scans", json=scan_body(live(badge(volunteer), **fields)), expect=200)
    [result] = results(response)
    assert (result["ok"], result["action"], result["result"], result["shift"]["id"]) == (
        True,
        "check_in",
        "ok",
        shift.id,
    )
    [attendance] = attendances(volunteer)
    assert attendance.id == result["attendance_id"] and attendance.checked_in_at >= before
    assert datetime.fromisoformat(result["at"]) == attendance.checked_in_at
    assert response.headers["X-RateLimit-Limit"] == "600" and remaining(response) == 599
    assert int(response.headers["X-RateLimit-Reset"]) > time.time() - 1


# -- 3. everything else passes to the normal path untouched --------------------------------------------


def api_token(db, api) -> ApiToken:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(api.token)))


@pytest.mark.parametrize("last_used", [None, timedelta(minutes=6)], ids=["never-used", "used-6-minutes-ago"])
def test_a_token_whose_use_was_not_recorded_lately_goes_the_normal_way(
    db, scanner, scan_body, badge, volunteer, make_user, assign, shift, assignment, last_used
):
    """The normal path records the token's use (at most every api.tokens.TOUCH_INTERVAL); then the lane answers."""
    api_token(db, scanner).last_used_at = None if last_used is None else utcnow() - last_used
    db.session.commit()
    before = utcnow()
    with lane(passed=1):
        assert scan_one(scanner, scan_body, live(badge(volunteer)))["action"] == "check_in"
    db.session.expire_all()
    assert api_token(db, scanner).last_used_at >= before
    second = make_user(name="第二位")
    assign(shift, second)
    with lane(express=1):
        assert scan_one(scanner, scan_body, live(badge(second), "c2"))["action"] == "check_in"


def test_a_repeat_and_a_resent_scan_go_the_normal_way(
    express_scanner, scan_body, badge, volunteer, assignment, attendances, scan_log
):
    token = badge(volunteer)
    with lane(express=1):
        first = scan_one(express_scanner, scan_body, live(token, "c1"))
    with lane(passed=1):
        again = scan_one(express_scanner, scan_body, live(token, "c2"))
    assert (again["action"], again["result"], again["attendance_id"]) == ("none", "repeat", first["attendance_id"])
    assert "Already checked in" in again["message"]
    with lane(passed=1):
        resent = scan_one(express_scanner, scan_body, live(token, "c1"))
    assert resent == first
    assert len(attendances(volunteer)) == 1
    assert [(s.client_scan_id, s.result) for s in scan_log(user_id=volunteer.id)] == [("c1", "ok"), ("c2", "repeat")]


def test_a_check_out_and_its_repeat_go_the_normal_way(
    express_scanner, scan_body, badge, volunteer, assignment, attendances, now
):
    earlier = now - timedelta(minutes=30)
    with lane(passed=1):
        queued = scan_one(
            express_scanner,
            scan_body,
            live(badge(volunteer, earlier), "q1", offline=True, scanned_at=earlier.isoformat()),
        )
    assert (queued["action"], queued["flags"]) == ("check_in", ["offline"])
    with lane(passed=1):
        out = scan_one(express_scanner, scan_body, live(badge(volunteer), "c1"))
    assert (out["action"], out["result"], out["duration_minutes"]) == ("check_out", "ok", 30)
    with lane(passed=1):
        again = scan_one(express_scanner, scan_body, live(badge(volunteer), "c2"))
    assert (again["action"], again["result"]) == ("none", "repeat") and "Already checked out" in again["message"]
    [attendance] = attendances(volunteer)
    assert attendance.status == "closed" and attendance.checked_in_at == earlier


def test_a_badge_token_shown_at_another_device_goes_the_normal_way(
    express_scanner, scan_body, badge, volunteer, assignment, scan_log
):
    token = badge(volunteer)
    with lane(express=1):
        scan_one(express_scanner, scan_body, live(token, "a1"), device_id="gate-1")
    with lane(passed=1):
        second = scan_one(express_scanner, scan_body, live(token, "b1"), device_id="gate-2")
    assert (second["ok"], second["code"], second["volunteer"]["id"]) == (False, "token_replayed", volunteer.id)
    assert [(s.device_id, s.result) for s in scan_log(user_id=volunteer.id)] == [
        ("gate-1", "ok"),
        ("gate-2", "token_replayed"),
    ]


def test_a_badge_token_accepted_before_its_stay_was_voided_goes_the_normal_way(
    db, express_scanner, scan_body, badge, volunteer, coordinator, assignment, attendances
):
    """The scan log, not the attendance, remembers that this badge token was accepted: shown at another device
    after the coordinator voided the check-in, it is a forwarded screenshot still."""
    token = badge(volunteer)
    with lane(express=1):
        scan_one(express_scanner, scan_body, live(token, "a1"), device_id="gate-1")
    void_attendance(attendances(volunteer)[0], by=coordinator, now=utcnow(), reason="扫错了人")
    db.session.commit()
    with lane(passed=1):
        again = scan_one(express_scanner, scan_body, live(token, "b1"), device_id="gate-2")
    assert (again["ok"], again["code"]) == (False, "token_replayed")
    assert [a.status for a in attendances(volunteer)] == ["voided"]


def refused_the_normal_way(api, scan_body, token: str, code: str, scan_log, volunteer=None) -> None:
    """One live scan the lane passes: the normal path refuses it with `code` and logs the refusal."""
    with lane(passed=1):
        result = scan_one(api, scan_body, live(token, f"refused-{code}"))
    assert (result["ok"], result["action"], result["result"], result["code"]) == (False, "none", "refused", code)
    assert result["attendance_id"] is None and result["shift"] is None
    [logged] = scan_log(client_scan_id=f"refused-{code}")
    assert (logged.result, logged.attendance_id) == (code, None)
    assert logged.user_id == (volunteer.id if volunteer is not None else None)


def test_a_volunteer_not_on_the_event_goes_the_normal_way(
    express_scanner, scan_body, badge, make_user, shift, scan_log
):
    stranger = make_user(name="路人甲")
    refused_the_normal_way(express_scanner, scan_body, badge(stranger), "wrong_event", scan_log, stranger)


def test_a_shift_not_open_yet_goes_the_normal_way(
    express_scanner, scan_body, badge, volunteer, position, make_shift, assign, now, scan_log, attendances
):
    assign(make_shift(position, starts_at=now + timedelta(hours=3)), volunteer)
    refused_the_normal_way(express_scanner, scan_body, badge(volunteer), "not_open_yet", scan_log, volunteer)
    assert attendances(volunteer) == []


def test_forged_and_expired_badges_go_the_normal_way(
    express_scanner, scan_body, badge, volunteer, assignment, now, scan_log, attendances
):
    genuine = badge(volunteer)
    forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    refused_the_normal_way(express_scanner, scan_body, forged, "token_forged", scan_log)
    refused_the_normal_way(
        express_scanner, scan_body, badge(volunteer, now - timedelta(minutes=3)), "token_expired", scan_log
    )
    assert attendances(volunteer) == []


def test_a_disabled_volunteer_goes_the_normal_way(
    db, express_scanner, scan_body, badge, volunteer, assignment, scan_log
):
    volunteer.is_disabled = True
    db.session.commit()
    refused_the_normal_way(express_scanner, scan_body, badge(volunteer), "volunteer_unknown", scan_log, volunteer)


def test_a_volunteer_in_at_another_event_goes_the_normal_way(
    express_scanner,
    scan_body,
    badge,
    volunteer,
    assignment,
    make_event,
    make_position,
    make_shift,
    assign,
    now,
    scan_log,
):
    elsewhere = make_event(title="东城活动", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5))
    assign(make_shift(make_position(elsewhere), starts_at=now - timedelta(hours=1)), volunteer)
    with lane(express=1):
        scan_one(express_scanner, scan_body, live(badge(volunteer), "there"), event_id=elsewhere.id)
    refused_the_normal_way(
        express_scanner, scan_body, badge(volunteer), "already_checked_in_elsewhere", scan_log, volunteer
    )


@pytest.mark.parametrize("kind", ["walk-ins", "geofence"])
def test_a_walk_in_or_geofenced_event_goes_the_normal_way(
    db, express_scanner, scan_body, badge, event, shift, volunteer, assign, attendances, kind
):
    if kind == "walk-ins":
        event.allow_walk_ins = True  # and the volunteer has no assignment: the scan makes one
    else:
        event.latitude, event.longitude, event.checkin_radius_m, event.geofence_mode = 23.02, 113.75, 200, "flag"
        assign(shift, volunteer)
    db.session.commit()
    with lane(passed=1):
        result = scan_one(express_scanner, scan_body, live(badge(volunteer)))
    assert (result["action"], result["shift"]["id"]) == ("check_in", shift.id)
    [attendance] = attendances(volunteer)
    if kind == "walk-ins":
        assert rows(db, "assignments", user_id=volunteer.id)[0]["source"] == "walk_in"
    else:  # no position sent: outside the circle, flagged (the lane would have flagged nothing)
        assert result["flags"] == ["outside_radius"] and attendance.outside_radius


@pytest.mark.parametrize("status", ["draft", "cancelled"])
def test_an_unpublished_event_goes_the_normal_way(
    warm,
    express_scanner,
    token_api,
    outsider,
    make_event,
    make_position,
    make_shift,
    assign,
    scan_body,
    badge,
    volunteer,
    now,
    scan_log,
    attendances,
    status,
):
    closed = make_event(status=status, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5))
    assign(make_shift(make_position(closed), starts_at=now - timedelta(hours=1)), volunteer)  # open, but not here
    with lane(passed=1):
        result = scan_one(express_scanner, scan_body, live(badge(volunteer)), event_id=closed.id)
    assert (result["ok"], result["code"]) == (False, "not_allowed")  # its own coordinators see it
    assert [s.result for s in scan_log()] == ["not_allowed"] and attendances(volunteer) == []
    if status == "draft":  # hidden from another organization's coordinator
        with lane(passed=1):
            response = warm(token_api(outsider)).post(
                "/scans", expect=404, json=scan_body(live(badge(volunteer), "c2"), event_id=closed.id)
            )
        assert response.get_json()["error"]["code"] == "not_found"


def test_another_organizations_coordinator_goes_the_normal_way(
    warm, token_api, outsider, scan_body, badge, volunteer, assignment, scan_log, attendances
):
    with lane(passed=1):
        refused = warm(token_api(outsider)).post("/scans", json=scan_body(live(badge(volunteer))), expect=403)
    assert refused.get_json()["error"]["code"] == "not_coordinator"
    assert scan_log() == [] and attendances(volunteer) == []


@pytest.mark.parametrize("change", ["token-revoked", "coordinator-disabled"])
def test_a_token_that_no_longer_works_goes_the_normal_way(
    db, express_scanner, coordinator, scan_body, badge, volunteer, assignment, scan_log, attendances, change
):
    if change == "token-revoked":
        revoke_token(api_token(db, express_scanner), by=None, now=utcnow())
    else:
        coordinator.is_disabled = True
    db.session.commit()
    with lane(passed=1):
        refused = express_scanner.post("/scans", json=scan_body(live(badge(volunteer))), expect=401)
    assert refused.get_json()["error"]["code"] == "invalid_token"
    assert scan_log() == [] and attendances(volunteer) == []


def test_bodies_that_are_not_one_plain_live_scan_go_the_normal_way(
    express_scanner, scan_body, badge, volunteer, make_user, assign, shift, assignment, now, attendances, scan_log
):
    queued_at = now - timedelta(minutes=5)
    with lane(passed=1):
        [offline] = results(
            express_scanner.post(
                "/scans",
                expect=200,
                json=scan_body(live(badge(volunteer, queued_at), "q1", offline=True, scanned_at=queued_at.isoformat())),
            )
        )
    assert (offline["action"], offline["flags"]) == ("check_in", ["offline"])
    assert attendances(volunteer)[0].checked_in_at == queued_at

    placed, pair = make_user(name="定位者"), [make_user(name="一号"), make_user(name="二号")]
    for person in (placed, *pair):
        assign(shift, person)
    with lane(passed=1):
        assert (
            scan_one(express_scanner, scan_body, live(badge(placed), "p1", latitude=23.02, longitude=113.75))["action"]
            == "check_in"
        )
    assert (attendances(placed)[0].in_latitude, scan_log(client_scan_id="p1")[0].longitude) == (23.02, 113.75)
    with lane(passed=1):
        both = results(
            express_scanner.post(
                "/scans", expect=200, json=scan_body(live(badge(pair[0]), "b1"), live(badge(pair[1]), "b2"))
            )
        )
    assert [(r["client_scan_id"], r["action"]) for r in both] == [("b1", "check_in"), ("b2", "check_in")]


def test_invalid_bodies_go_the_normal_way(
    express_scanner, scan_body, badge, volunteer, assignment, scan_log, attendances
):
    with lane(passed=1):
        unknown = express_scanner.post("/scans", json=scan_body(live(badge(volunteer), status="ok")), expect=422)
    assert (unknown.get_json()["error"]["code"], unknown.get_json()["error"]["field"]) == (
        "validation_failed",
        "scans[0].status",
    )
    with lane(passed=1):
        form = express_scanner.post(
            "/scans", data=b"event_id=1", content_type="application/x-www-form-urlencoded", expect=415
        )
    assert form.get_json()["error"]["code"] == "unsupported_media_type"
    assert scan_log() == [] and attendances(volunteer) == []
