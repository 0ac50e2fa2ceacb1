"""AWS clients, created on first use and cached for the life of the process.

Endpoints follow botocore's own configuration chain, so `AWS_ENDPOINT_URL`
points every client (and PynamoDB) at moto or LocalStack without code changes;
unset, the clients talk to real AWS.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib.settings import get_settings

_CLIENT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=3,
    read_timeout=10,
    # Webhook deliveries run a batch's messages on parallel threads.
    max_pool_connections=50,
)


@cache
def client(service: str) -> Any:
    """A cached boto3 client for `service` in the configured region."""
    return boto3.session.Session().client(
        service, region_name=get_settings().region, config=_CLIENT_CONFIG
    )


def reset_clients() -> None:
    """Forget cached clients, after the endpoint or region changed."""
    client.cache_clear()
    account_id.cache_clear()
    queue_url.cache_clear()


@cache
def account_id() -> str:
    """The AWS account the credentials belong to (needs no IAM permission)."""
    return client("sts").get_caller_identity()["Account"]


@cache
def queue_url(suffix: str) -> str:
    """The URL of one of the app's queues, by its name without the prefix."""
    name = get_settings().resource_name(suffix)
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


@cache
def _pynamodb_connection() -> Connection:
    return Connection(region=get_settings().region)


def transaction() -> TransactWrite:
    """A PynamoDB write transaction (all its writes happen, or none)."""
    return TransactWrite(connection=_pynamodb_connection())
