"""Least-privilege policy for the functions of a stage, and the check that forbids wildcards.

Chalice attaches `.chalice/policy-<stage>.json` to every function role (`autogen_policy: false`;
its analyser cannot see PynamoDB calls anyway). Policy files cannot reference stack resources, so
ARNs use the fixed names, every index by its name, and `${AWS::AccountId}` for the account:
`cloudformation_policy` (applied by infrastructure/package.py to the packaged roles) makes each
such string an `Fn::Sub`, so CloudFormation puts in the deploying account. No DynamoDB or SQS ARN
has a wildcard (only the stage's log streams and its Twilio parameter path do).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.dynamodb.models import MODELS
from infrastructure.messaging import partner_ids
from infrastructure.naming import REGION, StageNames
from infrastructure.tables import index_names

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


# The account a stack is deployed to, as CloudFormation writes it (see cloudformation_policy).
ACCOUNT = "${AWS::AccountId}"


def arn(service: str, resource: str) -> str:
    """An ARN of this region and the deploying account."""
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _table_arns(names: StageNames, logicals: list[str]) -> list[str]:
    """Each table and each of its indexes by name (a Query on an index is authorised on the index)."""
    arns = []
    for logical in logicals:
        table = arn("dynamodb", f"table/{names.table(logical)}")
        arns += [table, *(f"{table}/index/{index}" for index in index_names(MODELS[logical]))]
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
            "Resource": [arn("logs", f"log-group:{names.log_group}:*")],
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
            "Resource": [arn("sqs", names.queue(p)) for p in partner_ids()],
        },
        {
            "Sid": "ReadTwilioParameters",
            "Effect": "Allow",
            "Action": PARAMETER_ACTIONS,
            "Resource": [
                arn("ssm", f"parameter{names.twilio_ssm_prefix}"),
                arn("ssm", f"parameter{names.twilio_ssm_prefix}/*"),
            ],
        },
        {
            "Sid": "ReadAppKeys",
            "Effect": "Allow",
            "Action": PARAMETER_ACTIONS,
            "Resource": [arn("ssm", f"parameter{name}") for name in names.app_key_parameters.values()],
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


# ---- into the template -----------------------------------------------------------------------

_PSEUDO_PARAMETER = re.compile(r"\$\{AWS::[A-Za-z]+\}")
_OTHER_VARIABLE = re.compile(r"\$\{(?!AWS::[A-Za-z]+\})")


def cloudformation_policy(document: Any) -> Any:
    """The policy as a template carries it: each string naming a pseudo parameter (the account,
    `${AWS::AccountId}`) becomes an `Fn::Sub`, in which any other `${` (an IAM policy variable) is
    escaped as `${!`; intrinsic functions already there are kept."""
    if isinstance(document, str):
        if not _PSEUDO_PARAMETER.search(document):
            return document
        return {"Fn::Sub": _OTHER_VARIABLE.sub("${!", document)}
    if isinstance(document, list):
        return [cloudformation_policy(value) for value in document]
    if isinstance(document, dict):
        if len(document) == 1 and next(iter(document)).startswith(("Fn::", "Ref")):
            return document
        return {key: cloudformation_policy(value) for key, value in document.items()}
    return document


# ---- the check -------------------------------------------------------------------------------

DATA_SERVICES = {"dynamodb", "sqs"}
_WILDCARD = re.compile(r"[*?]")  # IAM matches both in actions and resources
_ARN_SERVICE = re.compile(r"^arn:[^:]*:([^:]*):")


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
    """Literal strings of an Action/Resource value, Fn::Sub and Fn::Join resolved as far as they are
    literal (a `${AWS::AccountId}` stays as it is); a Ref or GetAtt names one concrete resource."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if not isinstance(value, dict) or len(value) != 1:
        return []
    function, argument = next(iter(value.items()))
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        for name, given in variables.items():
            if isinstance(given, str):  # a literal value (a "*" too) goes into the text
                text = text.replace(f"${{{name}}}", given)
        return [text]
    if function == "Fn::Join":
        delimiter, parts = argument
        return [delimiter.join(part if isinstance(part, str) else "${…}" for part in parts)]
    if function == "Fn::If":
        return _strings(argument[1:])
    return []


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """Why a statement is too broad: a wildcard action, or a wildcard (`*`, `?`) in any DynamoDB or
    SQS resource: the account, the table or queue and the index are all named, never matched."""
    problems = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append("NotAction/NotResource grant everything else")
    actions = _strings(statement.get("Action", []))
    problems += [f"wildcard action {a!r}" for a in actions if _WILDCARD.search(a)]
    data_actions = {a.split(":", 1)[0].lower() for a in actions} & DATA_SERVICES
    for resource in _strings(statement.get("Resource", [])):
        if not _WILDCARD.search(resource):
            continue
        service = _ARN_SERVICE.match(resource)
        services = data_actions | ({service.group(1).lower()} & DATA_SERVICES if service else set())
        if services:
            problems.append(f"wildcard resource {resource!r} for {sorted(services)}")
    return problems


def wildcard_findings(document: Any) -> list[str]:
    findings = []
    for statement in policy_statements(document):
        findings += [f"{statement.get('Sid', '(no Sid)')}: {p}" for p in statement_problems(statement)]
    return findings
