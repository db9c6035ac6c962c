"""One SQS queue per partner (case.routed notices: ids only) and the dead-letter queue they drain into."""

from __future__ import annotations

from typing import Any

from chalicelib.data import default_partners
from infrastructure.naming import StageNames, cfn_name
from infrastructure.tables import KEY_RESOURCE

DEAD_LETTER_QUEUE = "DeadLetterQueue"
# The same redrive as the local stack (chalicelib/local/provision.py): five failed receives.
MAX_RECEIVE_COUNT = 5
FOURTEEN_DAYS = 14 * 24 * 3600


def queue_logical_id(partner_id: str) -> str:
    return f"{cfn_name(partner_id)}Queue"


def partner_ids() -> list[str]:
    return [partner["id"] for partner in default_partners()]


def _encrypted(properties: dict[str, Any]) -> dict[str, Any]:
    # Data keys are reused for 5 minutes: fewer KMS calls, same protection.
    return {**properties, "KmsMasterKeyId": {"Ref": KEY_RESOURCE}, "KmsDataKeyReusePeriodSeconds": 300}


def queue_resources(names: StageNames) -> dict[str, Any]:
    resources: dict[str, Any] = {
        DEAD_LETTER_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": _encrypted({"QueueName": names.dead_letter_queue, "MessageRetentionPeriod": FOURTEEN_DAYS}),
        }
    }
    for partner_id in partner_ids():
        resources[queue_logical_id(partner_id)] = {
            "Type": "AWS::SQS::Queue",
            "Properties": _encrypted(
                {
                    "QueueName": names.queue(partner_id),
                    "MessageRetentionPeriod": FOURTEEN_DAYS,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]},
                        "maxReceiveCount": MAX_RECEIVE_COUNT,
                    },
                    "Tags": [{"Key": "migranet:partner", "Value": partner_id}],
                }
            ),
        }
    return resources
