"""Fake SMS providers for the tests: an HTTP server on 127.0.0.1 that records what the real SDK sends and answers
with the replies the test queues (success, throttling, errors, or a sleep longer than the SDK's timeout).

- `FakeProvider()`: a context manager; `.endpoint` ("http://127.0.0.1:<port>"), `.requests` (each a `Seen`),
  `.reply(status, body, delay=0)` queues the next answer (the last one repeats; JSON bodies), `.always(...)`
  answers every request from now on.
- `aliyun_ok()`, `aliyun_error(code)`, `tencent_ok()`, `tencent_status(code)`, `tencent_error(code)`: the providers'
  answers, as their API documents them.
- `closed_port()`: an endpoint where nothing listens (a refused connection).
- `provider_config(name, endpoint, **more)`: the app configuration of that backend against the fake.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TEMPLATES = {
    "SMS_TEMPLATE_REGISTER": "SMS_100001",
    "SMS_TEMPLATE_RESET_PASSWORD": "SMS_100002",
    "SMS_TEMPLATE_CHANGE_MOBILE": "SMS_100003",
    "SMS_TEMPLATE_MOBILE_CHANGED_NOTICE": "SMS_100004",
    "SMS_TEMPLATE_GUARDIAN_CONFIRM": "SMS_100005",
}
SIGN_NAME = "东莞青年志愿者"


@dataclass
class Seen:
    """One request as the fake provider received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body.decode())


@dataclass
class Reply:
    status: int
    body: dict
    delay: float = 0.0


@dataclass
class FakeProvider:
    """An HTTP server on 127.0.0.1 answering the queued replies, in a thread of its own."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)

    def reply(self, status: int, body: dict, *, delay: float = 0.0) -> FakeProvider:
        self.replies.append(Reply(status, body, delay))
        return self

    def always(self, status: int, body: dict, *, delay: float = 0.0) -> FakeProvider:
        """Answer every request from now on with this reply."""
        self.replies[:] = [Reply(status, body, delay)]
        return self

    def _next(self) -> Reply:
        if len(self.replies) > 1:
            return self.replies.pop(0)
        return self.replies[0] if self.replies else Reply(500, {"error": "no reply queued"})

    def __enter__(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(parts.query).items()}
                provider.requests.append(
                    Seen(self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = provider._next()
                if reply.delay:
                    time.sleep(reply.delay)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


def closed_port() -> str:
    """An http endpoint on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def aliyun_ok(biz_id: str = "900619746936498440^0") -> dict:
    return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}


def aliyun_error(code: str, message: str = "refused") -> dict:
    return {"Code": code, "Message": message, "RequestId": "A1B2C3D4-0000-0000-0000-000000000000"}


def tencent_ok(serial: str = "2640:104343993716233410318389052") -> dict:
    return tencent_status("Ok", "send success", serial=serial)


def tencent_status(code: str, message: str = "refused", *, serial: str = "") -> dict:
    """A SendSms answer whose one number has `code` (HTTP 200: a number's own failure comes this way)."""
    return {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": serial,
                    "PhoneNumber": "+8613800138000",
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": "",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
        }
    }


def tencent_error(code: str, message: str = "refused") -> dict:
    """A SendSms answer refusing the whole request (Response.Error)."""
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "b1c2d3e4-0000-0000-0000-0000"}}


def provider_config(name: str, endpoint: str, **more) -> dict:
    """The configuration of backend `name` ("aliyun" or "tencent") against `endpoint`."""
    config: dict = {"SMS_BACKEND": name, "SMS_SIGN_NAME": SIGN_NAME, "SMS_TIMEOUT_SECONDS": 2, "SMS_RETRIES": 0}
    config.update(TEMPLATES)
    if name == "aliyun":
        config.update(
            SMS_ALIYUN_ACCESS_KEY_ID="LTAI5tTestAccessKeyId",
            SMS_ALIYUN_ACCESS_KEY_SECRET="test-access-key-secret",
            SMS_ALIYUN_ENDPOINT=endpoint,
        )
    else:
        config.update(
            SMS_TENCENT_SECRET_ID="AKIDTestSecretId",
            SMS_TENCENT_SECRET_KEY="test-secret-key",
            SMS_TENCENT_SDK_APP_ID="1400006666",
            SMS_TENCENT_ENDPOINT=endpoint,
        )
    config.update(more)
    return config


def use_backend(app, config: dict) -> None:
    """Switch the running test app to another SMS configuration (as a restart with it would)."""
    from sms.gateway import configure

    app.config.update(config)
    configure(app)
