"""Structured JSON logging for the API's entry points.

Entry points call `configure_logging` once; modules log through
`logging.getLogger(__name__)`. Correlation ids (request, execution, job) are
appended per context and show up on every line logged inside it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_formatter = LambdaPowertoolsFormatter(service="tapcraft")


def json_handler(stream: IO[str]) -> logging.Handler:
    """A handler writing one JSON object per record, correlation ids included."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter)
    return handler


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records to stderr as one JSON object per line."""
    root = logging.getLogger()
    if not any(getattr(h, "_tapcraft", False) for h in root.handlers):
        handler = json_handler(sys.stderr)
        handler._tapcraft = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextmanager
def correlated(**keys: str) -> Iterator[None]:
    """Append `keys` to every record logged in this thread until the block ends."""
    _formatter.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        _formatter.thread_safe_remove_keys(keys)
