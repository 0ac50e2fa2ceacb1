"""Real HTTP receivers on loopback, answering webhook deliveries as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """An `http.server` in a thread; answers are taken in order, then `final`."""

    def __init__(self, *answers: int | Answer, final: int | Answer = 200) -> None:
        self.answers = [_answer(a) for a in answers]
        self.final = _answer(final)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/tapcraft"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` requests; fails the test if they do not come."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} of {count} requests arrived"
                self._arrived.wait(left)
            return list(self.received[:count])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_answer(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if self.answers else self.final

    def _record(self, request: Received) -> None:
        with self._arrived:
            self.received.append(request)
            self._arrived.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._record(Received(time.monotonic(), self.path, headers, body))
                answer = receiver._next_answer()
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler


def _answer(value: int | Answer) -> Answer:
    return value if isinstance(value, Answer) else Answer(value)


@contextmanager
def receiving(*answers: int | Answer, final: int | Answer = 200) -> Iterator[Receiver]:
    receiver = Receiver(*answers, final=final)
    try:
        yield receiver
    finally:
        receiver.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: every connection is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone"
