"""SQS batches with partial failures, for the app's queue handlers.

Each record is handled on its own; the ids of those that raised go back to
Lambda in `batchItemFailures`, so only they are delivered again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)


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


def process_sqs_batch_concurrently(
    event: dict[str, Any], handle_body: Callable[[str], None], workers: int = 10
) -> dict[str, Any]:
    """Like `process_sqs_batch`, with every message handled at the same time.

    For handlers that wait on others' servers: one slow message then holds
    up no other message of its batch.
    """
    records = event.get("Records", [])
    if not records:
        return {"batchItemFailures": []}

    def handled(record: dict[str, Any]) -> bool:
        try:
            handle_body(record["body"])
        except Exception:
            logger.exception(
                "sqs record failed", extra={"message_id": record["messageId"]}
            )
            return False
        return True

    with ThreadPoolExecutor(max_workers=min(workers, len(records))) as pool:
        outcomes = list(pool.map(handled, records))
    failed = [r for r, ok in zip(records, outcomes, strict=True) if not ok]
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}
