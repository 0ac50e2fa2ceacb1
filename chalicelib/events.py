"""Domain events, published once to the events SNS topic.

Consumers (webhook delivery, analytics, ops tooling) subscribe to the topic;
publishers only describe what happened.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, event_types
from chalicelib.errors import InternalError
from chalicelib.ids import new_id, now_iso
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)


@cache
def topic_arn() -> str:
    """The events topic's ARN, built once from the caller's account."""
    settings = get_settings()
    name = settings.resource_name("events")
    return f"arn:aws:sns:{settings.region}:{aws.account_id()}:{name}"


def publish_event(event_type: str, org_id: str, data: dict[str, Any]) -> str:
    """Publish an event and return its id; raises InternalError if SNS fails."""
    if event_type not in event_types.SUBSCRIBABLE:
        raise InternalError(f"{event_type} is not in the event catalogue")
    event = {
        "id": new_id("evt"),
        "event": event_type,
        "timestamp": now_iso(),
        "org_id": org_id,
        "data": data,
    }
    try:
        aws.client("sns").publish(
            TopicArn=topic_arn(),
            Message=json.dumps(event),
            MessageAttributes={
                "event": {"DataType": "String", "StringValue": event_type},
                "org_id": {"DataType": "String", "StringValue": org_id},
            },
        )
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The event could not be published") from exc
    logger.info("event published", extra={"event": event_type, "event_id": event["id"]})
    return event["id"]
