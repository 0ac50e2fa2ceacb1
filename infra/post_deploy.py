"""Settings of a deployed stage that `chalice deploy` cannot make.

1. Every SQS event source mapping of the stage's functions reports partial
   batch failures, so one bad message does not redeliver its whole batch.
2. The data stack learns the REST API's id, so that unknown routes answer
   with the API's NOT_FOUND envelope instead of API Gateway's default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import boto3

DEPLOYED = Path(__file__).resolve().parents[1] / ".chalice" / "deployed"


def _deployed_resources(stage: str) -> list[dict]:
    with open(DEPLOYED / f"{stage}.json", encoding="utf-8") as handle:
        return json.load(handle)["resources"]


def enable_partial_batch_responses(stage: str) -> int:
    lambda_client = boto3.client("lambda")
    updated = 0
    for resource in _deployed_resources(stage):
        if resource.get("resource_type") != "sqs_event":
            continue
        lambda_client.update_event_source_mapping(
            UUID=resource["event_uuid"],
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        updated += 1
    return updated


def attach_gateway_responses(stage: str, prefix: str) -> None:
    rest_api = next(
        r for r in _deployed_resources(stage) if r.get("resource_type") == "rest_api"
    )
    boto3.client("cloudformation").update_stack(
        StackName=f"{prefix}-data",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "ResourcePrefix", "UsePreviousValue": True},
            {"ParameterKey": "RestApiId", "ParameterValue": rest_api["rest_api_id"]},
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.post_deploy")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--prefix", required=True)
    arguments = parser.parse_args()
    count = enable_partial_batch_responses(arguments.stage)
    print(f"partial batch responses enabled on {count} event source mapping(s)")
    attach_gateway_responses(arguments.stage, arguments.prefix)
    print("gateway responses attached")


if __name__ == "__main__":
    main()
