"""SQS batches with partial failures, for the app's queue handlers.

Each record is handled on its own; the ids of those that raised go back to
Lambda in `batchItemFailures`, so only they are delivered again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def process_sqs_batch(
    event: dict[str, Any], context: Any, handle_body: Callable[[str], None]
) -> dict[str, Any]:
    """Run `handle_body` on every message body; returns the partial batch answer."""
    # Imported here: Powertools' batch utilities cost about 60 ms of import,
    # which the API's cold start should not pay.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    return process_partial_response(
        event=event,
        record_handler=lambda record: handle_body(record.body),
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
