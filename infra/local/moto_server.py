"""moto in server mode, with DynamoDB's atomicity.

DynamoDB applies each request (a conditional write, a transaction) atomically;
moto's threaded server does not, so two concurrent conditional writes could
both pass and the local stack would let races through that AWS refuses. This
entry point serves moto's own application with DynamoDB requests taken one at
a time; every other service runs as moto runs it.

    python -m infra.local.moto_server --port 5000
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

DYNAMODB_TARGET = "DynamoDB_"


class AtomicDynamoDB:
    """WSGI middleware running one DynamoDB request at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local.moto_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    arguments = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(arguments.port))
    app = AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
    run_simple(
        arguments.host,
        arguments.port,
        app,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
