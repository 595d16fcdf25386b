"""A scanner re-sending the same scan over a flaky network, many times at once: applied once, one answer.

Each request runs in its own thread with its own client, app context, session and connection,
released together by a Barrier. On PostgreSQL (TEST_DATABASE_URL) the race is real; the SQLite
variant runs the same scenario on the file database.
"""

from __future__ import annotations

import pytest

from tests.parallel import BACKENDS, pool_for, send_together

THREADS = 12


@pytest.fixture
def app_overrides():
    return pool_for(THREADS)


@pytest.fixture
def scanner_clients(scanner, make_client, document):
    """THREADS independent clients of the coordinator's scanner app (same API token, own cookies)."""
    return [type(scanner)(make_client(), document, token=scanner.token) for _ in range(THREADS)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_resends_of_one_scan_apply_it_once(
    backend, scanner_clients, scan_body, badge, volunteer, assignment, attendances, scan_log
):
    body = scan_body({"client_scan_id": "flaky-1", "badge_token": badge(volunteer)})
    answers = send_together([lambda api=api: api.post("/scans", json=body) for api in scanner_clients])
    assert all(not isinstance(a, Exception) and a.status_code == 200 for a in answers), answers
    bodies = [a.get_json()["results"] for a in answers]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0][0]["action"] == "check_in" and bodies[0][0]["ok"] is True
    assert len(attendances(volunteer)) == 1 and len(scan_log(client_scan_id="flaky-1")) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_scans_with_new_ids_check_in_once(
    backend, scanner_clients, event, badge, volunteer, assignment, attendances, scan_log
):
    token, event_id = badge(volunteer), event.id

    def scan(index, api):
        return lambda: api.post(
            "/scans",
            json={
                "event_id": event_id,
                "device_id": "gate-1",
                "scans": [{"client_scan_id": f"s{index}", "badge_token": token}],
            },
        )

    answers = send_together([scan(index, api) for index, api in enumerate(scanner_clients)])
    assert not [a for a in answers if isinstance(a, Exception)], answers
    outcomes = sorted((a.get_json()["results"][0]["action"], a.get_json()["results"][0]["result"]) for a in answers)
    assert outcomes == [("check_in", "ok")] + [("none", "repeat")] * (THREADS - 1)
    assert len(attendances(volunteer)) == 1 and len(scan_log(user_id=volunteer.id)) == THREADS
