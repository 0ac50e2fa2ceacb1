"""Create the resources of infra/template.yaml through AWS API calls.

moto's CloudFormation skips SNS subscriptions and queue policies, and state
machines it creates are invisible to its executor, so the local stack makes
each resource with the service's own API instead, from the very definitions
the template holds. Stages: load the template, drop resources whose condition
is false, order the rest by their references, create each one and record its
`Ref` and attributes for the resources that follow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.template import (
    TEMPLATE_PATH,
    Resolver,
    TemplateError,
    load_template,
    references,
)

logger = logging.getLogger(__name__)

SKIPPED_LOCALLY = {
    # API Gateway belongs to `chalice deploy`; the local gateway plays it.
    "AWS::ApiGateway::GatewayResponse",
    # moto neither enforces queue policies nor IAM; the app's calls are the same.
    "AWS::SQS::QueuePolicy",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
}


@dataclass
class Provisioned:
    """What provisioning created: physical ids by logical id."""

    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


@dataclass
class Provisioner:
    session: boto3.session.Session
    endpoint_url: str | None
    account_id: str = "123456789012"

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def provision(
        self, parameters: dict[str, str], template: dict[str, Any] | None = None
    ) -> Provisioned:
        """Create every resource of the template; returns what was created."""
        template = template or load_template()
        values = _parameter_values(template, parameters)
        values.update(
            {
                "AWS::Region": self.session.region_name,
                "AWS::AccountId": self.account_id,
                "AWS::Partition": "aws",
            }
        )
        result = Provisioned()
        resolver = Resolver(values, result.refs, result.attributes)
        conditions = {
            name: resolver.resolve(expression)
            for name, expression in template.get("Conditions", {}).items()
        }
        for logical, resource in _ordered(template["Resources"]):
            if resource["Type"] in SKIPPED_LOCALLY:
                self._stand_in(logical, resource["Type"], result)
                continue
            if not conditions.get(resource.get("Condition", ""), True):
                continue
            properties = resolver.resolve(resource.get("Properties", {}))
            creator = _CREATORS.get(resource["Type"])
            if creator is None:
                raise TemplateError(f"{logical}: {resource['Type']} is not supported")
            ref, attributes = creator(self, properties)
            result.refs[logical] = ref
            result.types[logical] = resource["Type"]
            for name, value in attributes.items():
                result.attributes[(logical, name)] = value
            logger.info("resource created", extra={"logical_id": logical, "ref": ref})
        return result

    def _stand_in(self, logical: str, kind: str, result: Provisioned) -> None:
        """Give a skipped resource the ARN others may refer to."""
        if kind == "AWS::IAM::Role":
            arn = f"arn:aws:iam::{self.account_id}:role/{logical}"
            result.refs[logical] = logical
            result.attributes[(logical, "Arn")] = arn


def _parameter_values(template: dict, given: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in given:
            values[name] = given[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} needs a value")
    return values


def _ordered(resources: dict[str, Any]) -> list[tuple[str, Any]]:
    ordered: list[tuple[str, Any]] = []
    placed: set[str] = set()

    def place(logical: str, trail: tuple[str, ...]) -> None:
        if logical in placed:
            return
        if logical in trail:
            raise TemplateError("circular references: " + " -> ".join(trail))
        resource = resources[logical]
        for dependency in sorted(references(resource.get("Properties", {}))):
            if dependency in resources:
                place(dependency, (*trail, logical))
        placed.add(logical)
        ordered.append((logical, resource))

    for logical in resources:
        place(logical, ())
    return ordered


def _table(p: Provisioner, props: dict) -> tuple[str, dict]:
    dynamodb = p.client("dynamodb")
    keys = (
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "BillingMode",
        "ProvisionedThroughput",
        "StreamSpecification",
    )
    arguments = {k: props[k] for k in keys if k in props}
    table = dynamodb.create_table(TableName=props["TableName"], **arguments)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=props["TableName"], TimeToLiveSpecification=ttl
        )
    arn = table["TableDescription"]["TableArn"]
    return props["TableName"], {"Arn": arn}


_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _queue(p: Provisioner, props: dict) -> tuple[str, dict]:
    sqs = p.client("sqs")
    attributes = {
        k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
        for k in _QUEUE_ATTRIBUTES
        if k in props
    }
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, {
        "Arn": arn["Attributes"]["QueueArn"],
        "QueueName": props["QueueName"],
        "QueueUrl": url,
    }


def _topic(p: Provisioner, props: dict) -> tuple[str, dict]:
    arn = p.client("sns").create_topic(Name=props["TopicName"])["TopicArn"]
    return arn, {"TopicName": props["TopicName"], "TopicArn": arn}


def _subscription(p: Provisioner, props: dict) -> tuple[str, dict]:
    attributes = {}
    if "RawMessageDelivery" in props:
        attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
    if "FilterPolicy" in props:
        attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
    arn = p.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return arn, {}


def _bucket(p: Provisioner, props: dict) -> tuple[str, dict]:
    s3 = p.client("s3")
    name = props["BucketName"]
    region = p.session.region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": region}
        )
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    return name, {"Arn": f"arn:aws:s3:::{name}"}


def _key(p: Provisioner, props: dict) -> tuple[str, dict]:
    kms = p.client("kms")
    arguments = {"Description": props.get("Description", "")}
    if "KeyPolicy" in props:
        arguments["Policy"] = json.dumps(props["KeyPolicy"])
    metadata = kms.create_key(**arguments)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _alias(p: Provisioner, props: dict) -> tuple[str, dict]:
    p.client("kms").create_alias(
        AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"]
    )
    return props["AliasName"], {}


def _state_machine(p: Provisioner, props: dict) -> tuple[str, dict]:
    definition = _definition(props)
    for name, value in props.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + name + "}", str(value))
    arn = p.client("stepfunctions").create_state_machine(
        name=props["StateMachineName"],
        definition=definition,
        roleArn=props.get("RoleArn", f"arn:aws:iam::{p.account_id}:role/local"),
        type=props.get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    return arn, {"Arn": arn, "Name": props["StateMachineName"]}


def _definition(props: dict) -> str:
    """The ASL text; a local DefinitionS3Location is a path `aws cloudformation
    package` uploads, relative to the template."""
    location = props.get("DefinitionS3Location")
    if isinstance(location, str):
        return (TEMPLATE_PATH.parent / location).read_text(encoding="utf-8")
    if "DefinitionString" in props:
        return props["DefinitionString"]
    return json.dumps(props["Definition"])


_CREATORS: dict[str, Callable[[Provisioner, dict], tuple[str, dict]]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::S3::Bucket": _bucket,
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": _alias,
    "AWS::StepFunctions::StateMachine": _state_machine,
}
