"""POST /api/v1/scans: a coordinator's badge scanner, live and offline, idempotent, refusals per scan."""

from __future__ import annotations

from datetime import timedelta

from checkin.tokens import MAX_TOKEN_BYTES, badge_token


def results(response) -> list[dict]:
    return response.get_json()["results"]


def test_live_scan_checks_in_then_repeats(
    scanner, scan_body, badge, volunteer, shift, assignment, attendances, scan_log, coordinator
):
    response = scanner.post(
        "/scans", json=scan_body({"client_scan_id": "s1", "badge_token": badge(volunteer)}), expect=200
    )
    body = response.get_json()
    assert body["device_id"] == "gate-1" and body["event_id"] == shift.event_id
    [first] = body["results"]
    assert first["ok"] is True and (first["action"], first["result"], first["code"]) == ("check_in", "ok", None)
    assert first["client_scan_id"] == "s1" and first["position_name"] == "引导" and first["duration_minutes"] == 0
    assert first["volunteer"] == {"id": volunteer.id, "name": "陈小明", "volunteer_number": volunteer.volunteer_number}
    assert first["shift"]["id"] == shift.id and first["flags"] == [] and "Checked in" in first["message"]
    [attendance] = attendances(volunteer)
    assert attendance.id == first["attendance_id"] and attendance.status == "open"
    assert attendance.check_in_method == "badge" and attendance.checked_in_by_id == coordinator.id

    [again] = results(
        scanner.post("/scans", expect=200, json=scan_body({"client_scan_id": "s2", "badge_token": badge(volunteer)}))
    )
    assert again["ok"] is True and (again["action"], again["result"]) == ("none", "repeat")
    assert again["attendance_id"] == attendance.id and "Already checked in" in again["message"]
    assert len(attendances(volunteer)) == 1
    assert [(s.client_scan_id, s.result, s.device_id) for s in scan_log(user_id=volunteer.id)] == [
        ("s1", "ok", "gate-1"),
        ("s2", "repeat", "gate-1"),
    ]


def test_a_session_caller_scans_too(session_api, coordinator, scan_body, badge, volunteer, assignment):
    [result] = results(
        session_api(coordinator).post(
            "/scans",
            expect=200,
            json=scan_body(
                {"client_scan_id": "web-1", "badge_token": badge(volunteer), "latitude": 23.02, "longitude": 113.75}
            ),
        )
    )
    assert result["action"] == "check_in"


def test_resending_a_scan_answers_its_first_result(
    scanner, scan_body, badge, volunteer, assignment, attendances, scan_log
):
    body = scan_body({"client_scan_id": "once", "badge_token": badge(volunteer)})
    first = results(scanner.post("/scans", json=body, expect=200))
    again = results(scanner.post("/scans", json=body, expect=200))
    assert again == first and first[0]["action"] == "check_in"
    assert len(attendances(volunteer)) == 1 and len(scan_log(client_scan_id="once")) == 1

    # the key is (device, client id): whatever else is re-sent, the first result stands
    [other] = results(
        scanner.post(
            "/scans",
            expect=200,
            json=scan_body({"client_scan_id": "once", "badge_token": "B.1.2.AAAAAAAAAAAAAAAAAAAAAA"}),
        )
    )
    assert other == first[0]


def test_resending_a_refused_scan_answers_the_same_refusal(scanner, scan_body, volunteer, assignment, scan_log):
    body = scan_body({"client_scan_id": "bad", "badge_token": "B.1.2.AAAAAAAAAAAAAAAAAAAAAA"})
    [first] = results(scanner.post("/scans", json=body, expect=200))
    [again] = results(scanner.post("/scans", json=body, expect=200))
    assert first["ok"] is False and first["code"] == "token_forged" and again["code"] == "token_forged"
    assert again["message"] == first["message"]
    assert [s.result for s in scan_log(client_scan_id="bad")] == ["token_forged"]


def test_each_refusal_is_answered_with_its_code(
    scanner, scan_body, badge, kiosk, volunteer, make_user, assignment, now, scan_log, attendances
):
    genuine = badge(volunteer)
    forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    batch = scan_body(
        {"client_scan_id": "forged", "badge_token": forged},
        {"client_scan_id": "expired", "badge_token": badge(volunteer, now - timedelta(minutes=3))},
        {"client_scan_id": "garbage", "badge_token": "https://example.com/not-a-badge"},
        {"client_scan_id": "kiosk", "badge_token": kiosk()},
        {"client_scan_id": "huge", "badge_token": "B." + "x" * 10 * 1024},
        {"client_scan_id": "nobody", "badge_token": badge_token(987654, now=now)},
        {"client_scan_id": "good", "badge_token": genuine},
    )
    answered = results(scanner.post("/scans", json=batch, expect=200))
    codes = {r["client_scan_id"]: (r["ok"], r["code"]) for r in answered}
    assert codes == {
        "forged": (False, "token_forged"),
        "expired": (False, "token_expired"),
        "garbage": (False, "token_malformed"),
        "kiosk": (False, "token_wrong_kind"),
        "huge": (False, "token_too_long"),
        "nobody": (False, "volunteer_unknown"),
        "good": (True, None),
    }
    for refused in answered[:-1]:
        assert refused["result"] == "refused" and refused["action"] == "none" and refused["message"]
        assert refused["attendance_id"] is None and refused["shift"] is None
    assert len(attendances(volunteer)) == 1
    logged = {s.client_scan_id: s.result for s in scan_log(device_id="gate-1")}
    assert logged["huge"] == "token_too_long" and logged["good"] == "ok" and len(logged) == 7


def test_a_badge_shown_to_two_scanners_is_refused_at_the_second(
    token_api, coordinator, scan_body, badge, volunteer, assignment
):
    token = badge(volunteer)
    [first] = results(
        token_api(coordinator).post(
            "/scans", expect=200, json=scan_body({"client_scan_id": "a1", "badge_token": token}, device_id="gate-1")
        )
    )
    [second] = results(
        token_api(coordinator).post(
            "/scans", expect=200, json=scan_body({"client_scan_id": "b1", "badge_token": token}, device_id="gate-2")
        )
    )
    assert first["ok"] and (second["ok"], second["code"]) == (False, "token_replayed")
    assert second["volunteer"]["id"] == volunteer.id


def test_a_volunteer_without_a_shift_here_is_refused(scanner, scan_body, badge, make_user, shift):
    stranger = make_user(name="路人甲")
    [result] = results(
        scanner.post("/scans", expect=200, json=scan_body({"client_scan_id": "x", "badge_token": badge(stranger)}))
    )
    assert result["ok"] is False and result["code"] in {"no_assignment", "wrong_event"}
    assert result["volunteer"]["name"] == "路人甲"


def test_an_offline_queue_keeps_its_times_and_flags(
    scanner, scan_body, badge, volunteer, make_user, assign, shift, now, attendances
):
    second = make_user(name="王小红")
    assign(shift, volunteer)
    assign(shift, second)
    early, later = now - timedelta(minutes=10), now - timedelta(minutes=4)
    answered = results(
        scanner.post(
            "/scans",
            expect=200,
            json=scan_body(
                {
                    "client_scan_id": "q2",
                    "badge_token": badge(second, later),
                    "scanned_at": later.isoformat(),
                    "offline": True,
                },
                {
                    "client_scan_id": "q1",
                    "badge_token": badge(volunteer, early),
                    "scanned_at": early.isoformat(),
                    "offline": True,
                    "latitude": 23.02,
                    "longitude": 113.75,
                },
            ),
        )
    )
    assert [r["client_scan_id"] for r in answered] == ["q2", "q1"]  # in the order sent
    assert all(r["ok"] and r["action"] == "check_in" and "offline" in r["flags"] for r in answered)
    [first] = attendances(volunteer)
    assert first.checked_in_at == early and first.offline and first.in_latitude == 23.02
    assert attendances(second)[0].checked_in_at == later
    assert answered[1]["at"] == early.isoformat()


def test_two_devices_syncing_the_same_volunteer_make_one_attendance_and_a_conflict(
    token_api, coordinator, scan_body, badge, volunteer, assignment, now, attendances
):
    at_a, at_b = now - timedelta(minutes=9), now - timedelta(minutes=8)
    [a] = results(
        token_api(coordinator).post(
            "/scans",
            expect=200,
            json=scan_body(
                {
                    "client_scan_id": "a",
                    "badge_token": badge(volunteer, at_a),
                    "scanned_at": at_a.isoformat(),
                    "offline": True,
                },
                device_id="gate-a",
            ),
        )
    )
    [b] = results(
        token_api(coordinator).post(
            "/scans",
            expect=200,
            json=scan_body(
                {
                    "client_scan_id": "b",
                    "badge_token": badge(volunteer, at_b),
                    "scanned_at": at_b.isoformat(),
                    "offline": True,
                },
                device_id="gate-b",
            ),
        )
    )
    assert a["action"] == "check_in" and (b["ok"], b["result"], b["action"]) == (True, "conflict", "none")
    assert "conflict" in b["flags"]
    [attendance] = attendances(volunteer)
    assert attendance.conflict and attendance.checked_in_at == at_a


def test_a_live_scan_and_an_offline_queue_in_one_request(
    scanner, scan_body, badge, volunteer, make_user, assign, shift, now, attendances
):
    queued_person = make_user(name="刘离线")
    assign(shift, volunteer)
    assign(shift, queued_person)
    earlier = now - timedelta(minutes=30)
    answered = results(
        scanner.post(
            "/scans",
            expect=200,
            json=scan_body(
                {"client_scan_id": "live", "badge_token": badge(volunteer)},
                {
                    "client_scan_id": "old",
                    "badge_token": badge(queued_person, earlier),
                    "scanned_at": earlier.isoformat(),
                    "offline": True,
                },
            ),
        )
    )
    assert [(r["client_scan_id"], r["action"], "offline" in r["flags"]) for r in answered] == [
        ("live", "check_in", False),
        ("old", "check_in", True),
    ]
    assert attendances(queued_person)[0].checked_in_at == earlier


def test_an_offline_scan_too_old_or_in_the_future_is_refused(scanner, scan_body, badge, volunteer, assignment, now):
    old, future = now - timedelta(days=3), now + timedelta(hours=1)
    answered = results(
        scanner.post(
            "/scans",
            expect=200,
            json=scan_body(
                {
                    "client_scan_id": "old",
                    "badge_token": badge(volunteer, old),
                    "scanned_at": old.isoformat(),
                    "offline": True,
                },
                {
                    "client_scan_id": "future",
                    "badge_token": badge(volunteer, future),
                    "scanned_at": future.isoformat(),
                    "offline": True,
                },
            ),
        )
    )
    assert [(r["ok"], r["code"]) for r in answered] == [(False, "scan_too_old"), (False, "scan_in_future")]
    assert all(r["flags"] == ["offline"] for r in answered)


def test_a_token_of_at_most_the_limit_is_judged_by_its_signature(scanner, scan_body):
    token = "B.1." + "a" * (MAX_TOKEN_BYTES - 4)
    [result] = results(
        scanner.post("/scans", expect=200, json=scan_body({"client_scan_id": "edge", "badge_token": token}))
    )
    assert result["code"] == "token_malformed"
