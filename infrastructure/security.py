"""The customer managed KMS key that encrypts tables, queues, logs, alarms and (optionally) the Twilio secrets."""

from __future__ import annotations

from typing import Any

from infrastructure.naming import StageNames
from infrastructure.tables import KEY_RESOURCE

# Explicit lists instead of "kms:*": the account root keeps full administration (so the key can
# never become unmanageable) while the IAM checks can forbid wildcard actions everywhere.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
KEY_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
# The services that use the key on a caller's behalf: whoever IAM lets use a table, queue or
# parameter may use the key through that service only (the pattern of AWS managed keys).
VIA_SERVICES = ["dynamodb", "sqs", "ssm"]


def key_policy(names: StageNames) -> dict[str, Any]:
    log_group_arn = f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{names.log_group}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                "Action": sorted(set(KEY_ADMIN_ACTIONS + KEY_USE_ACTIONS)),
                "Resource": "*",
            },
            {
                "Sid": "UseThroughDataServicesInThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [*KEY_USE_ACTIONS, "kms:CreateGrant"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": {"Ref": "AWS::AccountId"},
                        "kms:ViaService": [
                            {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"} for service in VIA_SERVICES
                        ],
                    }
                },
            },
            {
                "Sid": "LogsEncryptTheStageLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": {"Fn::Sub": log_group_arn}}},
            },
            {
                "Sid": "AlarmsPublishToTheEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            },
        ],
    }


def key_resources(names: StageNames) -> dict[str, Any]:
    return {
        KEY_RESOURCE: {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"MigraNet Intake {names.stage}: applicants' data at rest",
                "EnableKeyRotation": True,
                "PendingWindowInDays": 30,
                "KeyPolicy": key_policy(names),
            },
        },
        "DataKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": names.key_alias, "TargetKeyId": {"Ref": KEY_RESOURCE}},
        },
    }
