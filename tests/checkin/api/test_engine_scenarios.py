"""The check-in engine's own scenarios, through POST /api/v1/scans and /api/v1/kiosk-scans with a real HTTP client.

Each scenario checks the answer and, in the database, what the scan did: the scan log's row, the attendance and
its flags. They run on the database the suite runs on: SQLite under `make test`, PostgreSQL under .ci/run (where
the parallel ones race for real).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from checkin.models import Attendance
from checkin.tokens import badge_token, kiosk_token
from tests import factories
from tests.parallel import BACKENDS, pool_for, send_together

THREADS = 20
FORGED = "B.1.2.AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


def one(api, body) -> dict:
    [result] = api.post("/scans", json=body, expect=200).get_json()["results"]
    return result


def offline(token: str, client_id: str, at) -> dict:
    return {"client_scan_id": client_id, "badge_token": token, "offline": True, "scanned_at": at.isoformat()}


@pytest.mark.parametrize(
    "case",
    [
        "token_forged",
        "token_malformed",
        "token_expired",
        "token_replayed",
        "wrong_event",
        "not_open_yet",
        "shift_over",
        "already_checked_in_elsewhere",
        "volunteer_unknown",
        "not_allowed",
        "scan_in_future",
        "scan_too_old",
    ],
)
def test_every_refusal_is_answered_logged_and_changes_nothing(
    case, scanner, scan_body, volunteer, shift, assignment, make_event, make_position, make_shift, now, db, scan_log
):
    token = badge_token(volunteer.id, now=now)
    scan = {"client_scan_id": "s1", "badge_token": token}
    body_of = scan_body
    if case == "token_forged":
        scan["badge_token"] = FORGED
    elif case == "token_malformed":
        scan["badge_token"] = "hello"
    elif case == "token_expired":
        scan["badge_token"] = badge_token(volunteer.id, now=now - timedelta(minutes=5))
    elif case == "token_replayed":
        assert one(scanner, scan_body({"client_scan_id": "first", "badge_token": token}, device_id="gate-9"))["ok"]
        db.session.query(Attendance).delete()  # the stay withdrawn by hand: the token stays used at gate-9
        db.session.commit()
    elif case in ("wrong_event", "not_open_yet", "shift_over", "not_allowed"):
        other = make_event(
            title="别的活动",
            starts_at=now - timedelta(hours=6),
            ends_at=now + timedelta(hours=6),
            status="draft" if case == "not_allowed" else "published",
        )
        if case in ("not_open_yet", "shift_over"):
            starts = now + timedelta(hours=3) if case == "not_open_yet" else now - timedelta(hours=5)
            factories.assignment(
                make_shift(make_position(other), starts_at=starts, ends_at=starts + timedelta(hours=2)), volunteer
            )
        body_of = lambda *s, **kw: scan_body(*s, event_id=other.id, **kw)  # noqa: E731  # the same maker, another event
    elif case == "already_checked_in_elsewhere":
        other = make_event(title="别的活动", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=6))
        elsewhere = make_shift(
            make_position(other), starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
        )
        factories.assignment(elsewhere, volunteer)
        assert one(scanner, scan_body({"client_scan_id": "there", "badge_token": token}, event_id=other.id))["ok"]
    elif case == "volunteer_unknown":
        scan["badge_token"] = badge_token(987_654, now=now)
    elif case == "scan_in_future":
        scan.update(
            offline=True,
            scanned_at=(now + timedelta(hours=1)).isoformat(),
            badge_token=badge_token(volunteer.id, now=now + timedelta(hours=1)),
        )
    elif case == "scan_too_old":
        scan.update(
            offline=True,
            scanned_at=(now - timedelta(hours=30)).isoformat(),
            badge_token=badge_token(volunteer.id, now=now - timedelta(hours=30)),
        )
    attendances_before = db.session.query(Attendance).count()

    result = one(scanner, body_of(scan))

    assert (result["ok"], result["result"], result["code"], result["action"]) == (False, "refused", case, "none")
    assert result["message"] and result["attendance_id"] is None
    [logged] = scan_log(client_scan_id="s1")
    assert (logged.result, logged.action, logged.attendance_id) == (case, "none", None)
    assert db.session.query(Attendance).count() == attendances_before


def test_a_resent_scan_answers_its_first_result_and_is_applied_once(
    scanner, scan_body, volunteer, assignment, now, scan_log, attendances
):
    body = scan_body({"client_scan_id": "s1", "badge_token": badge_token(volunteer.id, now=now)})
    first = one(scanner, body)
    again = one(scanner, body)
    assert first == again and first["action"] == "check_in"
    assert len(scan_log(client_scan_id="s1")) == 1 and len(attendances(volunteer)) == 1
    refused = scan_body({"client_scan_id": "s2", "badge_token": FORGED})
    assert one(scanner, refused) == one(scanner, refused)
    assert [s.result for s in scan_log(client_scan_id="s2")] == ["token_forged"]


def test_check_out_only_after_the_minimum_gap(app, scanner, scan_body, volunteer, shift, assignment, now, attendances):
    gap = timedelta(seconds=app.config["CHECKIN_REPEAT_SECONDS"])
    start = now - timedelta(minutes=30)
    token = badge_token(volunteer.id, now=start)
    scans = [
        offline(token, "a", start),
        offline(badge_token(volunteer.id, now=start + gap / 2), "b", start + gap / 2),
        offline(badge_token(volunteer.id, now=start + gap), "c", start + gap),
    ]
    results = scanner.post("/scans", json=scan_body(*scans), expect=200).get_json()["results"]
    assert [(r["action"], r["result"]) for r in results] == [
        ("check_in", "ok"),
        ("none", "repeat"),
        ("check_out", "ok"),
    ]
    [stay] = attendances(volunteer)
    assert (stay.status, stay.checked_in_at, stay.checked_out_at) == ("closed", start, start + gap)
    assert results[2]["duration_minutes"] == int(gap.total_seconds() // 60)


def test_two_devices_offline_make_one_attendance_and_one_conflict(
    scanner, scan_body, volunteer, assignment, now, attendances, scan_log
):
    at = now - timedelta(minutes=20)
    token = badge_token(volunteer.id, now=at)
    first = scanner.post("/scans", json=scan_body(offline(token, "a1", at), device_id="phone-a"), expect=200)
    second = scanner.post(
        "/scans",
        json=scan_body(
            offline(badge_token(volunteer.id, now=at + timedelta(seconds=30)), "b1", at + timedelta(seconds=30)),
            device_id="phone-b",
        ),
        expect=200,
    )
    assert first.get_json()["results"][0]["action"] == "check_in"
    [conflict] = second.get_json()["results"]
    assert (conflict["result"], conflict["ok"], "conflict" in conflict["flags"]) == ("conflict", True, True)
    [stay] = attendances(volunteer)
    assert stay.conflict is True and stay.status == "open" and stay.offline is True
    assert [s.conflict_side for s in scan_log(result="conflict")] == ["check_in"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_parallel_scans_of_one_badge_make_one_check_in(
    backend, scanner, make_client, document, scan_body, volunteer, assignment, now, attendances, scan_log
):
    token = badge_token(volunteer.id, now=now)
    clients = [type(scanner)(make_client(), document, token=scanner.token) for _ in range(THREADS)]
    bodies = [scan_body({"client_scan_id": f"p{i}", "badge_token": token}) for i in range(THREADS)]
    answers = send_together(
        [lambda api=api, body=body: api.post("/scans", json=body) for api, body in zip(clients, bodies, strict=True)]
    )
    assert not [a for a in answers if isinstance(a, Exception) or a.status_code != 200], answers
    outcomes = Counter(
        f"{a.get_json()['results'][0]['action']}:{a.get_json()['results'][0]['result']}" for a in answers
    )
    assert outcomes == {"check_in:ok": 1, "none:repeat": THREADS - 1}
    assert len(attendances(volunteer)) == 1 and len(scan_log(user_id=volunteer.id)) == THREADS


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_devices_sync_overlapping_batches_at_once(
    backend, scanner, make_client, document, scan_body, make_user, shift, now, db
):
    people = [make_user(name=f"志愿者{i}") for i in range(6)]
    for person in people:
        factories.assignment(shift, person)
    at = now - timedelta(minutes=10)
    clients = [type(scanner)(make_client(), document, token=scanner.token) for _ in range(2)]

    def batch(device: str, offset: int) -> dict:
        when = at + timedelta(seconds=offset)  # another 30-second window: another badge token (not a replay)
        scans = [offline(badge_token(p.id, now=when), f"{device}-{p.id}", when) for p in people]
        return scan_body(*(scans if device == "a" else scans[::-1]), device_id=device)

    bodies = [batch("a", 0), batch("b", 40)]
    answers = send_together(
        [lambda: clients[0].post("/scans", json=bodies[0]), lambda: clients[1].post("/scans", json=bodies[1])]
    )
    assert all(not isinstance(a, Exception) and a.status_code == 200 for a in answers), answers
    db.session.expire_all()
    stays = db.session.query(Attendance).filter(Attendance.user_id.in_([p.id for p in people])).all()
    assert sorted(s.user_id for s in stays) == sorted(p.id for p in people)  # one attendance each
    assert all(s.conflict for s in stays)  # whichever device synced second is the conflict


def test_an_offline_batch_of_two_hundred_checks_everyone_in_once(
    scanner, scan_body, make_user, make_shift, position, now, db
):
    shift = make_shift(position, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2), capacity=200)
    people = [make_user(name=f"队员{i:03d}") for i in range(200)]
    for person in people:
        factories.assignment(shift, person, commit=False)
    db.session.commit()
    at = now - timedelta(minutes=5)
    body = scan_body(*[offline(badge_token(p.id, now=at), f"q{p.id}", at) for p in people], device_id="phone-q")
    results = scanner.post("/scans", json=body, expect=200).get_json()["results"]
    assert Counter((r["action"], r["result"]) for r in results) == {("check_in", "ok"): 200}
    db.session.expire_all()
    assert db.session.query(Attendance).filter(Attendance.offline.is_(True), Attendance.status == "open").count() == 200


def test_kiosk_self_check_in_then_out(token_api, volunteer, event, shift, assignment, now, attendances, app):
    phone = token_api(volunteer)
    first = phone.post("/kiosk-scans", json={"token": kiosk_token(event.id, shift_id=None, now=now)}, expect=200)
    assert first.get_json()["action"] == "check_in"
    db_stay = attendances(volunteer)[0]
    factories.db.session.execute(
        factories.update(Attendance).where(Attendance.id == db_stay.id).values(checked_in_at=now - timedelta(hours=1))
    )
    factories.db.session.commit()
    later = phone.post("/kiosk-scans", json={"token": kiosk_token(event.id, shift_id=None, now=now)}, expect=200)
    assert (later.get_json()["action"], later.get_json()["ok"]) == ("check_out", True)
    [stay] = attendances(volunteer)
    assert stay.status == "closed" and stay.check_out_method == "kiosk"
