"""The load side of bench/load.py: locust users of an expo morning, run as a library in .venv-bench.

    .venv-bench/bin/python bench/load_users.py PLAN.json      (bench/load.py writes the plan and runs this)

Users (locust FastHttpUser, one gevent greenlet each, their own cookies):
- Scanner: a coordinator's phone at an entrance. Scans the badges of its own queue of volunteers,
  one every --scan-interval seconds: POST /api/v1/scans with the scanner's API token and the
  volunteer's badge token of the current 30-second window (made by checkin/tokens.py in the plan).
- Phone: a volunteer's phone at the kiosk, logged in beforehand (its session cookie is in the plan).
  Opens the kiosk code (GET /k/<token>), gets the check-in page, taps the button (POST with the
  page's CSRF token), sees the result page; then the next volunteer takes the lane.
- Watcher: a coordinator who logs in and keeps the live dashboard open (dashboard.json every few s).
- Committee: a reviewer of the city committee who logs in and, every so often, opens the membership
  eligibility list (all applicants, then those ready) or downloads it as .xlsx.
Scanners and phones start one after another over the ramp; on the expo run each lane stops when its
volunteers are through, on a soak lanes go round their volunteers again (check-in, later check-out).

Stdout, for bench/load.py: a line `INTERVAL {json}` every --interval seconds (requests, p50/p99 of
that interval), and at the end `RESULT <path>`: per request type every latency's summary, the scan
answers seen, and which volunteers the load checked in.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict, deque
from contextlib import contextmanager
from http.cookiejar import Cookie
from typing import ClassVar

import gevent
from gevent.event import Event
from locust import FastHttpUser, constant_pacing, task
from locust.env import Environment
from locust.exception import StopUser
from locust.log import setup_logging


def read_plan() -> dict:
    """The plan bench/load.py wrote (the user classes below read their counts and pacing from it)."""
    if __name__ != "__main__":
        return {}
    with open(sys.argv[1], encoding="utf-8") as plan:
        return json.load(plan)


PLAN = read_plan()
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
OUTCOME = re.compile(r'id="kiosk-result"\s+data-action="([a-z_]+)" data-result="([a-z_]+)"(?: data-code="([a-z_]+)")?')
BADGE, KIOSK_OPEN, KIOSK_PAGE, KIOSK_POST, KIOSK_DONE = (
    "badge scan  POST /api/v1/scans",
    "kiosk  GET /k/<code>",
    "kiosk  GET /checkin/kiosk",
    "kiosk  POST /checkin/kiosk",
    "kiosk  GET /checkin/kiosk/done",
)
DASHBOARD, LIST, EXPORT, LOGIN = (
    "dashboard  GET dashboard.json",
    "eligibility  GET list page",
    "eligibility  GET list .xlsx",
    "login  POST /login",
)


class Recorder:
    """Every request's latency by type, failures, the scan answers, and who was checked in."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.error_kinds: Counter = Counter()
        self.window: list[tuple[str, float, bool]] = []
        self.answers: Counter = Counter()  # "badge check_in:ok", "kiosk refused:token_expired", ...
        self.check_ins: Counter = Counter()  # volunteer id -> check-ins seen in answers
        self.applied = 0  # check-ins and check-outs answered
        self.attempted: set[int] = set()  # volunteers the load scanned or sent to a kiosk
        self.in_flight = 0
        self.lanes_done = 0

    def on_request(self, request_type, name, response_time, response_length, exception=None, **_kw) -> None:
        self.latencies[name].append(response_time)
        if not name.startswith("login"):  # the staff log in once, at the start: not part of the morning's figures
            self.window.append((name, response_time, exception is None))
        if exception is not None:
            self.errors[name] += 1
            self.error_kinds[f"{name}: {str(exception)[:100]}"] += 1

    def answer(self, channel: str, volunteer_id: int, action: str, result: str, code: str | None) -> None:
        self.answers[f"{channel} {action}:{result}" + (f":{code}" if code else "")] += 1
        if action == "check_in" and result == "ok":
            self.check_ins[volunteer_id] += 1
        if action in ("check_in", "check_out") and result == "ok":
            self.applied += 1


RECORD = Recorder()
STOP = Event()


def window_index() -> int:
    """Which of the plan's token windows is current (tokens rotate every window_seconds)."""
    index = int(time.time()) // PLAN["window_seconds"] - PLAN["first_window"]
    if index >= PLAN["windows"]:
        raise RuntimeError("the plan has no tokens left for this window: raise the plan's duration")
    return index


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def expect(response, *statuses: int) -> bool:
    """Mark the request failed unless it answered one of `statuses` (a socket error always fails)."""
    if response.status_code in statuses:
        return True
    if response.status_code == 0:
        response.failure(f"socket error: {type(response.error).__name__}: {response.error}")
    else:
        response.failure(f"HTTP {response.status_code}")
    return False


class Lane(FastHttpUser):
    """A scanner or a phone: starts at its place in the ramp, stops when told to or when its queue is empty."""

    abstract = True
    host = PLAN.get("base_url", "http://127.0.0.1")
    counter: itertools.count
    lanes = 1

    def on_start(self) -> None:
        self.index = next(self.counter)
        gevent.sleep(PLAN["ramp_seconds"] * self.index / max(self.lanes, 1))

    def finish(self):
        RECORD.lanes_done += 1
        raise StopUser()

    def next_slot(self) -> int:
        """The next volunteer's place in the queue (on a soak put back at its end); the lane stops when none is left."""
        if STOP.is_set() or not self.queue:
            self.finish()
        slot = self.queue.popleft()
        if PLAN["cycle"]:
            self.queue.append(slot)
        return slot


@contextmanager
def serving(volunteer: int):
    """While a lane serves a volunteer: counted as attempted, and in flight until done (or cut)."""
    RECORD.attempted.add(volunteer)
    RECORD.in_flight += 1
    try:
        yield
    finally:
        RECORD.in_flight -= 1


class Scanner(Lane):
    """A coordinator's scanner: one badge of its queue every scan_interval seconds."""

    fixed_count = PLAN.get("scanners", 0)
    lanes = fixed_count
    wait_time = constant_pacing(PLAN.get("scan_interval", 1.0))
    counter = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        self.queue = deque(range(self.index, len(PLAN.get("badge_volunteers", [])), self.lanes))
        self.device = f"scanner-{self.index + 1}"
        self.auth = {"Authorization": f"Bearer {PLAN['bearers'][self.index]}"}
        self.serial = itertools.count(1)

    @task
    def scan_badge(self) -> None:
        slot = self.next_slot()
        volunteer = PLAN["badge_volunteers"][slot]
        token = PLAN["badge_tokens"][window_index()][slot]
        body = {
            "event_id": PLAN["event_id"],
            "device_id": self.device,
            "scans": [{"client_scan_id": f"c{next(self.serial)}", "badge_token": token}],
        }
        with (
            serving(volunteer),
            self.client.post(
                "/api/v1/scans", json=body, headers=self.auth, name=BADGE, catch_response=True
            ) as response,
        ):
            if expect(response, 200):
                result = response.json()["results"][0]
                RECORD.answer("badge", volunteer, result["action"], result["result"], result["code"])


class Phone(Lane):
    """Volunteers' phones at the kiosk, one volunteer after another on this lane."""

    fixed_count = PLAN.get("phones", 0)
    lanes = fixed_count
    wait_time = constant_pacing(PLAN.get("phone_interval", 3.0))
    counter = itertools.count()
    default_headers: ClassVar[dict] = {"User-Agent": PLAN.get("user_agent", "bench")}
    queue: ClassVar[deque] = deque(range(len(PLAN.get("kiosk_volunteers", []))))  # shared by every lane

    @task
    def check_in_at_kiosk(self) -> None:
        slot = self.next_slot()
        volunteer = PLAN["kiosk_volunteers"][slot]
        self.client.cookiejar.clear()
        self.client.cookiejar.set_cookie(cookie(PLAN["session_cookie"], PLAN["kiosk_sessions"][slot]))
        with serving(volunteer):
            self.kiosk_flow(volunteer, PLAN["kiosk_tokens"][window_index()])

    def kiosk_flow(self, volunteer: int, code: str) -> None:
        with self.client.get(f"/k/{code}", name=KIOSK_OPEN, allow_redirects=False, catch_response=True) as answer:
            if not expect(answer, 302):
                return
        with self.client.get("/checkin/kiosk", name=KIOSK_PAGE, catch_response=True) as page:
            if not expect(page, 200):
                return
            token = CSRF.search(page.text)
            if token is None:
                page.failure("no CSRF token on the check-in page")
                return
        gevent.sleep(random.uniform(0.3, 1.0))  # the page asks for the position, then submits
        form = {"csrf_token": token.group(1), "latitude": "", "longitude": "", "accuracy_m": ""}
        with self.client.post(
            "/checkin/kiosk", data=form, name=KIOSK_POST, allow_redirects=False, catch_response=True
        ) as posted:
            if not expect(posted, 302):
                return
        with self.client.get("/checkin/kiosk/done", name=KIOSK_DONE, catch_response=True) as done:
            if expect(done, 200):
                seen = OUTCOME.search(done.text)
                if seen is None:
                    done.failure("no result on the kiosk's result page")
                else:
                    RECORD.answer("kiosk", volunteer, seen.group(1), seen.group(2), seen.group(3))


def cookie(name: str, value: str) -> Cookie:
    """A host-only cookie for the bench server, as the browser kept it from an earlier login."""
    return Cookie(
        0, name, value, None, False, PLAN["host"], False, False, "/", True, False, None, True, None, None, {}, False
    )


class Staff(FastHttpUser):
    """Someone who logs in with a password first (coordinators, the committee)."""

    abstract = True
    host = PLAN.get("base_url", "http://127.0.0.1")

    def log_in(self, mobile: str) -> None:
        with self.client.get("/login", name="login  GET /login", catch_response=True) as page:
            if not expect(page, 200):
                raise StopUser()
            token = CSRF.search(page.text)
        form = {"csrf_token": token.group(1) if token else "", "mobile": mobile, "password": PLAN["password"]}
        with self.client.post("/login", data=form, name=LOGIN, allow_redirects=False, catch_response=True) as done:
            if not expect(done, 302):
                raise StopUser()


class Watcher(Staff):
    """A coordinator with the live dashboard open: its figures reload every dashboard_interval seconds."""

    fixed_count = PLAN.get("watchers", 0)
    wait_time = constant_pacing(PLAN.get("dashboard_interval", 5.0))
    counter = itertools.count()

    def on_start(self) -> None:
        self.log_in(PLAN["watcher_mobiles"][next(self.counter)])

    @task
    def look_at_dashboard(self) -> None:
        if STOP.is_set():
            gevent.sleep(1)
            return
        with self.client.get(
            f"/checkin/events/{PLAN['event_id']}/dashboard.json", name=DASHBOARD, catch_response=True
        ) as response:
            expect(response, 200)


class Committee(Staff):
    """The city committee's reviewer checking who meets the membership prerequisite (20 verified hours ...)."""

    fixed_count = PLAN.get("committee", 0)
    wait_time = constant_pacing(PLAN.get("committee_interval", 20.0))
    pages = itertools.cycle(
        [
            ("/hours/membership/applicants", LIST),
            ("/hours/membership/applicants?status=ready", LIST),
            ("/hours/membership/applicants.xlsx", EXPORT),
        ]
    )

    def on_start(self) -> None:
        self.log_in(PLAN["reviewer_mobile"])

    @task
    def review_applicants(self) -> None:
        if STOP.is_set():
            gevent.sleep(1)
            return
        path, name = next(self.pages)
        with self.client.get(path, name=name, catch_response=True) as response:
            expect(response, 200)


def interval_line(batch: list[tuple[str, float, bool]], seconds: float, elapsed: float) -> dict:
    """The figures of one interval: requests, rate, errors, p50/p99 of everything and of badge scans."""
    times = [ms for _name, ms, _ok in batch]
    scans = [ms for name, ms, _ok in batch if name == BADGE]
    return {
        "t": round(elapsed, 1),
        "seconds": round(seconds, 2),
        "requests": len(batch),
        "rate": round(len(batch) / seconds, 1) if seconds else 0.0,
        "errors": sum(1 for *_x, ok in batch if not ok),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "scan_p50_ms": percentile(scans, 50),
        "scan_p99_ms": percentile(scans, 99),
        "check_ins": sum(RECORD.check_ins.values()),
        "applied": RECORD.applied,
        "answers": sum(RECORD.answers.values()),
        "lanes_done": RECORD.lanes_done,
    }


def summary(name: str, values: list[float], errors: int, seconds: float) -> dict:
    return {
        "name": name,
        "requests": len(values),
        "rate": len(values) / seconds if seconds else 0.0,
        "p50_ms": percentile(values, 50),
        "p90_ms": percentile(values, 90),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else None,
        "errors": errors,
    }


def run() -> int:
    setup_logging("WARNING")
    classes = [c for c in (Scanner, Phone, Watcher, Committee) if c.fixed_count]
    env = Environment(user_classes=classes)
    env.events.request.add_listener(RECORD.on_request)
    runner = env.create_local_runner()
    lanes = Scanner.fixed_count + Phone.fixed_count
    users = sum(c.fixed_count for c in classes)
    began = time.monotonic()
    runner.start(users, spawn_rate=100)  # all at once: scanners and phones then wait for their turn in the ramp
    deadline = began + PLAN["max_seconds"]
    next_report, last = began + PLAN["interval"], began
    while True:
        gevent.sleep(max(min(next_report, deadline) - time.monotonic(), 0.05))
        now = time.monotonic()
        finished = not PLAN["cycle"] and RECORD.lanes_done >= lanes
        if now >= next_report or finished or now >= deadline:
            batch, RECORD.window = RECORD.window, []
            print("INTERVAL " + json.dumps(interval_line(batch, now - last, now - began)), flush=True)
            last, next_report = now, next_report + PLAN["interval"]
        if finished or now >= deadline:
            break
    ended = time.monotonic()
    STOP.set()  # lanes take no new volunteer; the ones under way finish
    settle = time.monotonic() + 30
    while RECORD.in_flight and time.monotonic() < settle:
        gevent.sleep(0.1)
    crashes = [{"count": e["count"], "message": str(e["msg"])[:200]} for e in runner.exceptions.values()]
    runner.quit()
    seconds = ended - began
    everything = [ms for name, values in RECORD.latencies.items() if not name.startswith("login") for ms in values]
    morning_errors = sum(n for name, n in RECORD.errors.items() if not name.startswith("login"))
    result = {
        "seconds": seconds,
        "timed_out": not PLAN["cycle"] and RECORD.lanes_done < lanes,
        "stopped_in_flight": RECORD.in_flight,
        "types": [
            summary(name, values, RECORD.errors[name], seconds) for name, values in sorted(RECORD.latencies.items())
        ],
        "overall": summary("all requests (but logins)", everything, morning_errors, seconds),
        "login_errors": sum(n for name, n in RECORD.errors.items() if name.startswith("login")),
        "error_kinds": dict(RECORD.error_kinds.most_common(20)),
        "exceptions": crashes,
        "answers": dict(RECORD.answers),
        "check_ins": {str(k): v for k, v in RECORD.check_ins.items()},
        "attempted": sorted(RECORD.attempted),
    }
    with open(PLAN["result_path"], "w", encoding="utf-8") as out:
        json.dump(result, out)
    print(f"RESULT {PLAN['result_path']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run())
