"""DynamoDB streams as event sources: the cases table's stream for announce_routed_cases.

Chalice needs the stream's ARN when it reads app.py, but DynamoDB picks the ARN's last part when
it creates the stream; so the app names the table (chalicelib.config.CASES_STREAM_ARN) and this
puts in the table's StreamArn. Chalice gives the function a role with the shared policy file, which
cannot name the stream either: a policy of its own, on that role, allows reading exactly that stream.
"""

from __future__ import annotations

from typing import Any

from infrastructure.naming import cfn_name
from infrastructure.tables import table_logical_id

# What Lambda's poller does with the function's role (AWS's example policy for stream triggers).
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
# announce_routed_cases does not raise; should it fail anyway, a batch is retried twice (halved each
# time) and then skipped: its notices are still marked, and notify_partners sends them.
RETRIES = 2
MAX_RECORD_AGE_SECONDS = 3600


def stream_sources() -> list[tuple[str, str]]:
    """(function name, table logical name) of every @app.on_dynamodb_record function."""
    from chalice.app import DynamoDBEventConfig

    from app import app

    return [
        (source.name, source.stream_arn.split(":table/", 1)[1].split("/", 1)[0])
        for source in app.event_sources
        if isinstance(source, DynamoDBEventConfig)
    ]


def event_source_id(function_name: str) -> str:
    """The logical id Chalice gives the function's DynamoDB event (chalice/package.py)."""
    return cfn_name(f"{function_name}-dynamodb-event-source")


def stream_resources() -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for function_name, table in stream_sources():
        function = cfn_name(function_name)
        stream_arn = {"Fn::GetAtt": [table_logical_id(table), "StreamArn"]}
        event = {
            "Stream": stream_arn,
            "MaximumRetryAttempts": RETRIES,
            "BisectBatchOnFunctionError": True,
            "MaximumRecordAgeInSeconds": MAX_RECORD_AGE_SECONDS,
        }
        resources[function] = {
            # Lambda checks the role can read the stream when the event source is created: policy first.
            "DependsOn": [f"{function}StreamPolicy"],
            "Properties": {"Events": {event_source_id(function_name): {"Properties": event}}},
        }
        resources[f"{function}StreamPolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "read-stream",
                "Roles": [{"Ref": f"{function}Role"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Sid": "ReadStream", "Effect": "Allow", "Action": STREAM_ACTIONS, "Resource": [stream_arn]}
                    ],
                },
            },
        }
    return resources
