"""Helpers of the operations tests: the real gunicorn (gunicorn.conf.py) on the test database, a TCP relay
that makes the database go away and come back, HTTP clients with cookies and CSRF, bounded waits.

Every process a test starts is started in its own session and ended by its process group id
(SIGTERM, then SIGKILL) before the test's fixtures tear the database down.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def postgres_only(function):
    """Marks a test `postgres` and skips it unless the suite runs on PostgreSQL."""
    skip = pytest.mark.skipif(
        not ON_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://..."
    )
    return pytest.mark.postgres(skip(function))


#: how long a gunicorn may take to answer its first request on this (slow, shared) machine
BOOT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition()` until it returns something true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def end_process_group(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the process group we started (its leader may be gone, its children not), SIGKILL what is left
    after `grace` seconds; the leader is reaped."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                process.wait(0.1)
            except subprocess.TimeoutExpired:
                continue
            if not group_alive(process.pid):
                break
            time.sleep(0.1)
        if not group_alive(process.pid):
            break
    with suppress(subprocess.TimeoutExpired):
        process.wait(10)


# -- the production log handler --------------------------------------------------------------------------


@pytest.fixture
def captured():
    """captured() -> the JSON objects written so far by the production handler (installed for this test, writing
    to a StringIO); captured.raw() -> the text written. A conftest.py hands it out by assigning it to a name."""
    from app.ops.logging import install_handler

    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = install_handler(stream=stream, fmt="json", level="INFO")

    def read() -> list[dict]:
        lines = stream.getvalue().splitlines()
        return [json.loads(line) for line in lines]  # every line must be one JSON object

    read.raw = stream.getvalue  # type: ignore[attr-defined]  # a function attribute: the raw text beside the parsed lines
    yield read
    root.removeHandler(handler)
    root.setLevel(level)


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpClient:
    """A small browser: cookies, no redirects followed, every call bounded by a timeout."""

    def __init__(self, base: str, timeout: float = 60):
        self.base = base
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, *, data=None, json_body=None, headers=None) -> Answer:
        body = None
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Answer:
        return self.request("POST", path, **kwargs)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        found = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page.text)
        assert found, f"no CSRF token on {path} ({page.status})"
        return found.group(1)

    def login(self, mobile: str, password: str) -> None:
        token = self.csrf_token("/login")
        answer = self.post("/login", data={"csrf_token": token, "mobile": mobile, "password": password})
        assert answer.status == 302, answer.text[:500]


# -- gunicorn -----------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 60) -> HttpClient:
        return HttpClient(self.base, timeout)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def json_lines(self) -> list[dict]:
        lines = []
        for line in self.log_lines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def production_env(database_url: str, keys: dict, **extra) -> dict:
    """The environment of a production process on the test database (plain http: no Secure cookie)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PROMETHEUS_", "GUNICORN_", "OPS_")) and name not in ("TEST_DATABASE_URL", "REDIS_URL")
    }
    env.update(
        APP_ENV="production", DATABASE_URL=database_url, SESSION_COOKIE_SECURE="false", PYTHONPATH=str(ROOT), **keys
    )
    env.update({name: str(value) for name, value in extra.items()})
    return env


@contextmanager
def gunicorn(env: dict, tmp_path: Path, *, workers: int = 2, config: Path = ROOT / "gunicorn.conf.py"):
    """Run gunicorn with `config` on a free port until the block ends; yields a Server once it answers."""
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    env = {
        **env,
        "PORT": str(port),
        "GUNICORN_WORKERS": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}"),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(config)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    try:

        def answering():
            if process.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + "\n".join(server.log_lines()[-30:]))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
            except OSError:
                return False
            return server.client(timeout=BOOT_SECONDS).get("/healthz").status == 200

        wait_until(answering, timeout=BOOT_SECONDS, what="gunicorn to answer /healthz", interval=0.2)
        yield server
    finally:
        end_process_group(process)


# -- a database that goes away and comes back ------------------------------------------------------


class TcpRelay:
    """127.0.0.1:<port> forwarded to the database server. stop() closes the listener and every relayed
    connection (the database has gone away: new connections are refused); start() listens again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener is not None:
            with suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close() alone would not
            self.listener.close()
            self.listener = None
        with self.lock:
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets = []


@contextmanager
def serving(application):
    """An app built inside a test, used as a server is: each request in its own app context (so its session and
    connection go back to the pool after every request). Its connections are closed afterwards."""
    from app import dispose_engines
    from app.extensions import db

    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
        dispose_engines(application)
