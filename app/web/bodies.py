"""Request bodies the app answered without reading are read and dropped, so that the client gets the answer.

A body over MAX_CONTENT_LENGTH is refused from its Content-Length, before a byte of it is read (werkzeug
raises RequestEntityTooLarge: the 413 page, or JSON under /api/), and other answers (401, 403, 404) may
come before a POST's body is read too. The client is then still sending. If the server closes the
connection with the rest of the body unread in its socket, the kernel resets the connection: the client
sees a reset or a broken pipe, never the page. gunicorn's sync worker lingers over 64 KB at most when it
closes (gunicorn.util.close_graceful); werkzeug's development server drains by itself.

`DrainUnreadBody` wraps the WSGI app: it counts what the app reads from wsgi.input and, once the app has
answered, reads and drops what is left of the body, up to REQUEST_DRAIN_MAX_BYTES and for
REQUEST_DRAIN_SECONDS at most; a body that declares more than that is not read at all (its sender, who
sends far more than any form takes, gets the reset). Chunked bodies are drained only where the server
ends them itself (wsgi.input_terminated); requests without a body cost nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

READ_CHUNK = 64 * 1024
DEFAULT_DRAIN_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_DRAIN_SECONDS = 10.0


class CountingInput:
    """wsgi.input, counting the bytes read from it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.consumed = 0

    def _count(self, data: bytes) -> bytes:
        self.consumed += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._count(self.stream.read(size if size is not None else -1))

    def readline(self, size: int | None = -1) -> bytes:
        return self._count(self.stream.readline(size if size is not None else -1))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return [self._count(line) for line in self.stream.readlines(hint)]

    def __iter__(self) -> Iterator[bytes]:
        return (self._count(line) for line in self.stream)


def _content_length(environ: dict) -> int | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


class DrainUnreadBody:
    """WSGI middleware: after the app answered, read what it left of the request body (see the module)."""

    def __init__(self, wsgi_app: Any, config: dict) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not length and not (chunked and environ.get("wsgi.input_terminated")):
            return self.wsgi_app(environ, start_response)
        counting = CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        response = self.wsgi_app(environ, start_response)
        self.drain(counting, None if chunked else length)
        return response

    def drain(self, body: CountingInput, length: int | None) -> int:
        """Read and drop the rest of the body (to its length, or to its end when the server ends it)."""
        limit = int(self.config.get("REQUEST_DRAIN_MAX_BYTES", DEFAULT_DRAIN_MAX_BYTES))
        if length is not None and not 0 < length - body.consumed <= limit:
            return 0  # read whole, or more than is worth reading
        deadline = time.monotonic() + float(self.config.get("REQUEST_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS))
        drained = 0
        while drained < limit and time.monotonic() < deadline:
            want = READ_CHUNK if length is None else min(READ_CHUNK, length - body.consumed)
            if want <= 0:
                break
            try:
                chunk = body.read(want)
            except (OSError, ValueError):  # the client went away, or the server closed the stream
                break
            if not chunk:
                break
            drained += len(chunk)
        return drained
