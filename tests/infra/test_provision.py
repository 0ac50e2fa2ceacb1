"""The local stack holds exactly what infra/template.yaml declares.

Every resource of the template is looked up in the running moto server and
compared with its definition: keys, indexes and settings. The app's PynamoDB
models are compared with the same definitions, so neither can drift.
"""

from __future__ import annotations

import json

import pytest

from infra.local.provision import SKIPPED_LOCALLY
from infra.local.template import Resolver, load_template

PARAMETERS = {
    "ResourcePrefix": "tapcraft-local",
    "RestApiId": "",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
}


@pytest.fixture(scope="module")
def declared(stack):
    template = load_template()
    resolver = Resolver(
        PARAMETERS, stack.provisioned.refs, stack.provisioned.attributes
    )
    return {
        logical: (resource["Type"], resolver.resolve(resource.get("Properties", {})))
        for logical, resource in template["Resources"].items()
        if resource["Type"] not in SKIPPED_LOCALLY and "Condition" not in resource
    }


def of_type(declared, kind):
    return [
        props for resource_type, props in declared.values() if resource_type == kind
    ]


def keyed(items, key="AttributeName"):
    return sorted(items, key=lambda item: item[key])


def test_every_declared_resource_was_provisioned(stack, declared):
    assert set(declared) <= set(stack.provisioned.refs)


def test_tables_match_keys_indexes_and_settings(stack, declared):
    dynamodb = stack.client("dynamodb")
    tables = of_type(declared, "AWS::DynamoDB::Table")
    assert tables

    for props in tables:
        table = dynamodb.describe_table(TableName=props["TableName"])["Table"]
        assert keyed(table["KeySchema"]) == keyed(props["KeySchema"])
        assert keyed(table["AttributeDefinitions"]) == keyed(
            props["AttributeDefinitions"]
        )
        assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
        assert _indexes(table.get("GlobalSecondaryIndexes", [])) == _indexes(
            props.get("GlobalSecondaryIndexes", [])
        )
        ttl = dynamodb.describe_time_to_live(TableName=props["TableName"])
        expected = props.get("TimeToLiveSpecification", {}).get("Enabled", False)
        assert (
            ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
        ) is expected


def _indexes(indexes):
    return {
        index["IndexName"]: (
            keyed(index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            sorted(index["Projection"].get("NonKeyAttributes", [])),
        )
        for index in indexes
    }


def test_queues_match_settings_and_redrive(stack, declared):
    sqs = stack.client("sqs")

    for props in of_type(declared, "AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"
        ]
        for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if name in props:
                assert attributes[name] == str(props[name]), (props["QueueName"], name)
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert (
                redrive["deadLetterTargetArn"]
                == props["RedrivePolicy"]["deadLetterTargetArn"]
            )
            assert (
                int(redrive["maxReceiveCount"])
                == props["RedrivePolicy"]["maxReceiveCount"]
            )


def test_topics_buckets_and_keys_exist_as_declared(stack, declared):
    topics = {t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]}
    for props in of_type(declared, "AWS::SNS::Topic"):
        assert f"arn:aws:sns:us-east-1:123456789012:{props['TopicName']}" in topics

    s3 = stack.client("s3")
    for props in of_type(declared, "AWS::S3::Bucket"):
        block = s3.get_public_access_block(Bucket=props["BucketName"])
        assert (
            block["PublicAccessBlockConfiguration"]
            == (props["PublicAccessBlockConfiguration"])
        )

    kms = stack.client("kms")
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    for props in of_type(declared, "AWS::KMS::Alias"):
        key_id = aliases[props["AliasName"]]["TargetKeyId"]
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]


def test_models_match_the_template(declared):
    from chalicelib import models

    tables = {p["TableName"]: p for p in of_type(declared, "AWS::DynamoDB::Table")}
    model_classes = [
        models.Organization,
        models.User,
        models.ApiKey,
        models.Script,
        models.Asset,
        models.Execution,
        models.ExecutionLog,
        models.Job,
        models.Agent,
        models.Device,
        models.RateCounter,
        models.OAuthClient,
        models.AuthorizationCode,
        models.OAuthGrant,
        models.RefreshToken,
        models.SigningKey,
        models.Webhook,
        models.WebhookDelivery,
    ]

    idempotency = "tapcraft-local-idempotency"  # owned by Powertools, not a model
    assert {m.Meta.table_name for m in model_classes} == set(tables) - {idempotency}
    for model in model_classes:
        schema = model._get_schema()
        props = tables[model.Meta.table_name]
        assert keyed(schema["key_schema"]) == keyed(props["KeySchema"])
        model_indexes = {
            index["index_name"]: (
                keyed(index["key_schema"]),
                index["projection"]["ProjectionType"],
                sorted(index["projection"].get("NonKeyAttributes", [])),
            )
            for index in schema["global_secondary_indexes"]
        }
        assert model_indexes == _indexes(props.get("GlobalSecondaryIndexes", []))
