"""A scanner re-sending the same scan over a flaky network, many times at once: applied once, one answer.

Each request runs in its own thread with its own client, app context, session and connection,
released together by a Barrier. On PostgreSQL (TEST_DATABASE_URL) the race is real; the SQLite
variant runs the same scenario on the file database.
"""
from __future__ import annotations

import os
import threading

import pytest

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
BACKENDS = [
    pytest.param("postgresql", marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://..."),
    ]),
    pytest.param("sqlite", marks=pytest.mark.skipif(
        ON_POSTGRES, reason="SQLite variant: runs when the suite runs on SQLite")),
]
THREADS = 12


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 0, "pool_timeout": 120,
                                          "pool_pre_ping": True}}


def post_together(clients, body) -> list:
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def worker(index, api):
        try:
            barrier.wait(timeout=60)
            answers[index] = api.post("/scans", json=body)
        except Exception as error:  # noqa: BLE001 - reported by the test
            answers[index] = error

    threads = [threading.Thread(target=worker, args=(i, api)) for i, api in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return answers


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_resends_of_one_scan_apply_it_once(backend, scanner, make_client, document, scan_body, badge,
                                                    volunteer, assignment, attendances, scan_log):
    clients = [type(scanner)(make_client(), document, token=scanner.token) for _ in range(THREADS)]
    body = scan_body({"client_scan_id": "flaky-1", "badge_token": badge(volunteer)})
    answers = post_together(clients, body)
    assert all(not isinstance(a, Exception) and a.status_code == 200 for a in answers), answers
    bodies = [a.get_json()["results"] for a in answers]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0][0]["action"] == "check_in" and bodies[0][0]["ok"] is True
    assert len(attendances(volunteer)) == 1 and len(scan_log(client_scan_id="flaky-1")) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_scans_with_new_ids_check_in_once(backend, scanner, make_client, document, event, badge, volunteer,
                                                   assignment, attendances, scan_log):
    clients = [type(scanner)(make_client(), document, token=scanner.token) for _ in range(THREADS)]
    token, event_id = badge(volunteer), event.id
    barrier = threading.Barrier(THREADS)
    answers: list = [None] * THREADS

    def worker(index):
        barrier.wait(timeout=60)
        answers[index] = clients[index].post("/scans", json={
            "event_id": event_id, "device_id": "gate-1",
            "scans": [{"client_scan_id": f"s{index}", "badge_token": token}]})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    outcomes = sorted((a.get_json()["results"][0]["action"], a.get_json()["results"][0]["result"]) for a in answers)
    assert outcomes == [("check_in", "ok")] + [("none", "repeat")] * (THREADS - 1)
    assert len(attendances(volunteer)) == 1 and len(scan_log(user_id=volunteer.id)) == THREADS
