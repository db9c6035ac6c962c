"""Least-privilege policy for the functions of a stage, and the check that forbids wildcards.

Chalice attaches `.chalice/policy-<stage>.json` to every function role (`autogen_policy: false`;
its analyser cannot see PynamoDB calls anyway). Policy files cannot reference stack resources, so
ARNs use the fixed names with the account left open; table and queue names are never wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.dynamodb.models import MODELS
from infrastructure.messaging import partner_ids
from infrastructure.naming import REGION, StageNames

TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",  # TransactWriteItems is authorised per item through these
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
# The audit log is append-only: the functions may add and read entries, never change or delete them.
APPEND_ONLY_TABLES = {"audit"}
APPEND_ONLY_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
]
QUEUE_ACTIONS = ["sqs:GetQueueUrl", "sqs:SendMessage"]
PARAMETER_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def _table_arns(names: StageNames, logicals: list[str]) -> list[str]:
    arns = []
    for logical in logicals:
        table = f"arn:aws:dynamodb:{REGION}:*:table/{names.table(logical)}"
        arns += [table, f"{table}/index/*"]
    return arns


def policy_document(names: StageNames) -> dict[str, Any]:
    logicals = list(MODELS)
    append_only = [name for name in logicals if name in APPEND_ONLY_TABLES]
    read_write = [name for name in logicals if name not in APPEND_ONLY_TABLES]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteStageLogs",
            "Effect": "Allow",
            "Action": LOG_ACTIONS,
            "Resource": [f"arn:aws:logs:{REGION}:*:log-group:{names.log_group}:*"],
        },
        {
            "Sid": "ReadWriteTables",
            "Effect": "Allow",
            "Action": TABLE_ACTIONS,
            "Resource": _table_arns(names, read_write),
        },
    ]
    if append_only:
        statements.append(
            {
                "Sid": "AppendOnlyTables",
                "Effect": "Allow",
                "Action": APPEND_ONLY_ACTIONS,
                "Resource": _table_arns(names, append_only),
            }
        )
    statements += [
        {
            "Sid": "NotifyPartnerQueues",
            "Effect": "Allow",
            "Action": QUEUE_ACTIONS,
            "Resource": [f"arn:aws:sqs:{REGION}:*:{names.queue(p)}" for p in partner_ids()],
        },
        {
            "Sid": "ReadTwilioParameters",
            "Effect": "Allow",
            "Action": PARAMETER_ACTIONS,
            "Resource": [
                f"arn:aws:ssm:{REGION}:*:parameter{names.twilio_ssm_prefix}",
                f"arn:aws:ssm:{REGION}:*:parameter{names.twilio_ssm_prefix}/*",
            ],
        },
        {
            "Sid": "ReadAppKeys",
            "Effect": "Allow",
            "Action": PARAMETER_ACTIONS,
            "Resource": [f"arn:aws:ssm:{REGION}:*:parameter{name}" for name in names.app_key_parameters.values()],
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


# ---- the check -------------------------------------------------------------------------------

_DYNAMODB_NAME = re.compile(r"^arn:[^:]*:dynamodb:[^:]*:[^:]*:table/([^/]+)(/index/[^/]+|/stream/[^/]+)?$")
_SQS_NAME = re.compile(r"^arn:[^:]*:sqs:[^:]*:[^:]*:(.+)$")


def policy_statements(document: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in a template or policy (roles, key, topic and queue policies)."""
    if isinstance(document, dict):
        statements = document.get("Statement")
        candidates = statements if isinstance(statements, list) else [statements]
        yield from (c for c in candidates if isinstance(c, dict) and "Effect" in c)
        for key, value in document.items():
            if key != "Statement":
                yield from policy_statements(value)
    elif isinstance(document, list):
        for value in document:
            yield from policy_statements(value)


def _strings(value: Any) -> list[str]:
    """Literal strings of an Action/Resource value; Fn::Sub templates count, Ref/GetAtt are concrete."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return [sub if isinstance(sub, str) else sub[0]]
    return []


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """Why a statement is too broad: wildcard actions, or a wildcard DynamoDB table or SQS queue."""
    problems = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append("NotAction/NotResource grant everything else")
    actions = _strings(statement.get("Action", []))
    problems += [f"wildcard action {a!r}" for a in actions if "*" in a]
    services = {a.split(":", 1)[0].lower() for a in actions}
    data_services = services & {"dynamodb", "sqs"}
    for resource in _strings(statement.get("Resource", [])) if data_services else []:
        if "*" not in resource:
            continue
        named = _DYNAMODB_NAME.match(resource) or _SQS_NAME.match(resource)
        if named and "*" not in named.group(1):
            continue  # e.g. any account, or every index of one named table
        problems.append(f"wildcard resource {resource!r} for {sorted(data_services)}")
    return problems


def wildcard_findings(document: Any) -> list[str]:
    findings = []
    for statement in policy_statements(document):
        findings += [f"{statement.get('Sid', '(no Sid)')}: {p}" for p in statement_problems(statement)]
    return findings
