"""Browser test fixtures: the real app behind a real HTTP server, driven by Debian's Chromium.

Reuse them for any browser test (mark each test ``@pytest.mark.browser``; ``make test-browser``
runs ``-m browser``):

- ``live_server`` -> ``LiveServer(base_url, app)``: the app built exactly like the ``app`` fixture of
  tests/conftest.py (same ``database_url``, so SQLite or PostgreSQL via TEST_DATABASE_URL) but with
  CSRF ON, served by werkzeug's ``make_server`` in a thread on 127.0.0.1 at a random port.
  ``live_server.url("/login")`` builds absolute URLs. The test's own thread keeps an app context,
  so ``db``, ``orgs``, ``make_user`` and the other factories of tests/conftest.py work as usual
  (they commit, so the server sees their rows; call ``db.session.expire_all()`` before reading
  rows the browser changed).
- ``browser`` (session scope): one headless Chromium for the whole run ($CHROMIUM_PATH, default
  /usr/bin/chromium, with the flags of CHROMIUM_ARGS). Tests are skipped with a reason when it is
  missing, unless BROWSER_TESTS_REQUIRED=1 (set by .ci/run): then they fail.
- ``browser_context`` / ``page``: a fresh context per test with a phone viewport (390x844, touch,
  zh-CN, Asia/Shanghai) whose relative URLs resolve against the live server; no language is chosen
  in the app, so pages open in Simplified Chinese. Override the ``context_options`` fixture in a
  test module to change the viewport, permissions (e.g. ``permissions=["camera"]``) and so on.
- ``launch_chromium(*extra_args)``: a separate Chromium with extra flags (e.g. Chromium's fake camera,
  as tests/browser/test_checkin_browser.py uses it), closed after the test; open pages with
  ``launch_chromium(...).new_context(base_url=live_server.base_url, **PHONE).new_page()``.
- ``browser_login(page, user_or_mobile, password=PASSWORD)``: logs in through the real login form
  and waits for the profile page.
- ``screenshot(page, name)``: saves a full-page PNG under $SCREENSHOT_DIR (or the test's tmp_path)
  and returns its path, for looking at the pages by eye.
- tests/browser/helpers.py: ``PHONE`` (the context options above) and ``watch_page_errors(page)`` -> a list that collects the page's console errors and uncaught exceptions
  (CSP violations among them); assert it is empty at the end.
- Check-in: the events factories of tests/conftest.py (``make_event``, ``make_shift``, ``now``, ...) and
  ``site``: a published 南城街道 event with a shift under way, its coordinator and an assigned volunteer.

Timing: wait for states (``page.wait_for_url``, ``expect(...)``), never with sleeps.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import factories
from tests.browser.helpers import PHONE
from tests.support import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveServer:
    """A running server: its base URL and the Flask app it serves."""

    base_url: str
    app: object

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@pytest.fixture
def app_overrides():
    """Browser tests post real forms: CSRF stays on."""
    return {"WTF_CSRF_ENABLED": True}


def _closed_bodies(app):
    """The app, each response body read whole and closed before the server writes it.

    werkzeug's development server drains the socket after a response and closes the body only
    then: when the browser resets the connection first (a favicon request cut short by the next
    page), the drain raises and a file body (static files) is garbage-collected open, a
    ResourceWarning that filterwarnings=error turns into a failure of whichever test is running.
    The app streams nothing, so reading bodies here changes nothing else."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture
def live_server(app):
    """Serve `app` (tests/conftest.py, CSRF on) on 127.0.0.1 at a free port for the test's duration."""
    server = make_server("127.0.0.1", 0, _closed_bodies(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def _playwright():
    if not Path(CHROMIUM).exists():
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("BROWSER_TESTS_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    """One headless Chromium for the session."""
    chromium = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def launch_chromium(_playwright):
    """launch_chromium(*extra_args) -> another Chromium with extra command-line flags, closed after the test."""
    launched = []

    def launch(*extra_args: str):
        chromium = _playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args), headless=True
        )
        launched.append(chromium)
        return chromium

    yield launch
    for chromium in launched:
        chromium.close()


@pytest.fixture
def context_options():
    """Options of the per-test browser context; override in a module to change them."""
    return dict(PHONE)


@pytest.fixture
def browser_context(browser, live_server, context_options):
    context = browser.new_context(base_url=live_server.base_url, **context_options)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A page in a fresh phone-sized context; relative URLs resolve against the live server."""
    return browser_context.new_page()


def log_in_through_form(page, user_or_mobile, password: str = PASSWORD) -> None:
    """Fill and submit the real login form, then wait for the profile page."""
    mobile = getattr(user_or_mobile, "mobile", user_or_mobile)
    page.goto("/login")
    page.fill("#mobile", mobile)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/me")


@pytest.fixture
def browser_login():
    """browser_login(page, user_or_mobile, password=PASSWORD): log in through the real form."""
    return log_in_through_form


@pytest.fixture
def screenshot(tmp_path):
    """screenshot(page, name) -> Path of a full-page PNG ($SCREENSHOT_DIR or the test's tmp_path)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# -- check-in: an event under way ----------------------------------------------------------------------------


@pytest.fixture
def site(db, coordinator, volunteer, make_event, make_position, make_shift, now):
    """A published 南城街道 event with a shift under way, its coordinator (黄队长) and an assigned volunteer (陈小明).

    Returns {"coordinator", "volunteer", "event", "shift"}: event 南城文明交通劝导 from an hour ago, its 路口引导
    shift from half an hour ago until three hours from now.
    """
    event = make_event(title="南城文明交通劝导", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8))
    shift = make_shift(
        make_position(event, name="路口引导"), starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=3)
    )
    factories.assignment(shift, volunteer)
    return {"coordinator": coordinator, "volunteer": volunteer, "event": event, "shift": shift}
