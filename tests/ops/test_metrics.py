"""GET /metrics: requests and latency by endpoint and status, scans and check-ins counted when committed,
scheduler job runs read from job_runs, and who may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.scheduling.jobs import run_guarded
from app.timeutil import utcnow
from checkin.tokens import badge_token
from composition import create_app
from tests.support import running

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def app_overrides():
    # A second scan checks out at once (no repeat window), so one test makes a check-in and a check-out.
    return {"METRICS_TOKEN": TOKEN, "CHECKIN_REPEAT_SECONDS": 0}


def scrape(client, **headers) -> dict:
    """{(sample name, frozenset(labels)): value} of one scrape (from 127.0.0.1, like the test client)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_and_latency_by_endpoint_and_status(client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    for _ in range(2):
        assert client.get("/no-such-page").status_code == 404
    after = scrape(client)
    requests = "volunteers_http_requests_total"
    assert (
        value(after, requests, method="GET", endpoint="healthz", status="200")
        - value(before, requests, method="GET", endpoint="healthz", status="200")
        == 3
    )
    assert (
        value(after, requests, method="GET", endpoint="unmatched", status="404")
        - value(before, requests, method="GET", endpoint="unmatched", status="404")
        == 2
    )
    latency = "volunteers_http_request_duration_seconds_count"
    assert (
        value(after, latency, method="GET", endpoint="healthz", status="200")
        - value(before, latency, method="GET", endpoint="healthz", status="200")
        == 3
    )
    bucket = value(
        after,
        "volunteers_http_request_duration_seconds_bucket",
        method="GET",
        endpoint="healthz",
        status="200",
        le="+Inf",
    )
    assert bucket == value(after, latency, method="GET", endpoint="healthz", status="200")


def test_scans_check_ins_and_check_outs_through_the_api(client, scene):
    """A check-in, a check-out and a forged badge through the scanner API: each counted once, when committed."""
    before = scrape(client)
    auth = {"Authorization": f"Bearer {scene.api_token}"}
    for number in (1, 2):
        body = {
            "event_id": scene.event.id,
            "device_id": "gate-1",
            "scans": [
                {"client_scan_id": f"scan-{number}", "badge_token": badge_token(scene.volunteer.id, now=utcnow())}
            ],
        }
        answer = client.post("/api/v1/scans", json=body, headers=auth)
        assert answer.status_code == 200 and answer.get_json()["results"][0]["ok"], answer.get_json()
    forged = {
        "event_id": scene.event.id,
        "device_id": "gate-1",
        "scans": [{"client_scan_id": "scan-3", "badge_token": "B.1.1.AAAAAAAAAAAAAAAAAAAAAA"}],
    }
    assert client.post("/api/v1/scans", json=forged, headers=auth).get_json()["results"][0]["ok"] is False
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("volunteers_scans_total", method="badge", result="ok") == 2
    assert delta("volunteers_checkins_total", method="badge") == 1
    assert delta("volunteers_checkouts_total", method="badge") == 1
    assert delta("volunteers_scans_total", method="badge", result="token_forged") == 1
    assert delta("volunteers_http_requests_total", method="POST", endpoint="api.create_scans", status="200") == 3


def test_a_scan_rolled_back_is_not_counted(app, db, scene):
    """Scans flushed and then rolled back (a failed request) never reach the counters."""
    from checkin.scanning.services import scan_badge

    client = app.test_client()
    before = scrape(client)
    scan_badge(badge_token(scene.volunteer.id, now=utcnow()), scene.event, by=scene.coordinator, now=utcnow())
    db.session.rollback()
    assert value(scrape(client), "volunteers_checkins_total", method="badge") == value(
        before, "volunteers_checkins_total", method="badge"
    )
    scan_badge(badge_token(scene.volunteer.id, now=utcnow()), scene.event, by=scene.coordinator, now=utcnow())
    db.session.commit()
    assert (
        value(scrape(client), "volunteers_checkins_total", method="badge")
        == value(before, "volunteers_checkins_total", method="badge") + 1
    )


def test_scheduler_job_runs_come_from_the_job_runs_table(client, db):
    now = utcnow()
    run_guarded("reminders", now, timedelta(minutes=5), lambda: {"sent": 2})
    run_guarded("reminders", now + timedelta(minutes=5), timedelta(minutes=5), lambda: {"sent": 0})

    def fail():
        raise RuntimeError("SMTP down")

    with pytest.raises(RuntimeError):
        run_guarded("email_outbox", now, timedelta(minutes=1), fail)
    samples = scrape(client)
    assert value(samples, "volunteers_scheduler_job_runs", job="reminders", status="ok") == 2
    assert value(samples, "volunteers_scheduler_job_runs", job="email_outbox", status="failed") == 1
    assert value(samples, "volunteers_scheduler_job_runs", job="email_outbox", status="ok") == 0
    assert value(samples, "volunteers_scheduler_job_runs", job="housekeeping", status="ok") == 0  # never ran
    finished = value(samples, "volunteers_scheduler_job_last_finished_timestamp_seconds", job="reminders", status="ok")
    assert finished == pytest.approx((now + timedelta(minutes=5)).timestamp(), abs=1)  # the later run


@pytest.mark.parametrize(
    "address, headers, status",
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("10.1.2.3", {}, 403),
        ("203.0.113.9", {}, 403),
        ("203.0.113.9", {"Authorization": f"Bearer {TOKEN}"}, 200),
        ("203.0.113.9", {"Authorization": "Bearer wrong-token"}, 403),
        ("203.0.113.9", {"Authorization": f"Basic {TOKEN}"}, 403),
        # relayed by a proxy the app does not trust: the proxy's loopback address proves nothing
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, 403),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7", "Authorization": f"Bearer {TOKEN}"}, 200),
    ],
)
def test_who_may_read_the_metrics(app, address, headers, status):
    response = app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"]["code"] == "metrics_forbidden"
        assert b"volunteers_http_requests" not in response.data


def test_allowed_networks_and_a_trusted_proxy(database_url):
    application = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXIES": 1, "METRICS_ALLOWED_IPS": "10.0.0.0/8, 192.0.2.1"},
    )
    with running(application):
        client = application.test_client()

        def status(client_address):
            return client.get(
                "/metrics", headers={"X-Forwarded-For": client_address}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
            ).status_code

        assert status("10.20.30.40") == 200  # Prometheus inside the private network, through the proxy
        assert status("192.0.2.1") == 200
        assert status("192.0.2.2") == 403
        assert status("127.0.0.1, 203.0.113.9") == 403  # a forged first hop changes nothing


def test_metrics_and_readiness_are_exempt_from_rate_limits(database_url):
    from app.extensions import limiter

    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_DEFAULT": "2 per minute"})
    try:
        with running(application):
            client = application.test_client()
            assert [client.get("/login").status_code for _ in range(3)][-1] == 429
            assert {client.get("/metrics").status_code for _ in range(5)} == {200}
            assert {client.get("/readyz").status_code for _ in range(5)} == {200}
    finally:
        # The limiter is one object for every app of the process and keeps the first default limit it saw.
        limiter.limit_manager.set_default_limits([])
