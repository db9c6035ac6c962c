"""Least-privilege policy for the functions of a stage, and the check that forbids wildcards.

Chalice attaches `.chalice/policy-<stage>.json` to every function role (`autogen_policy: false`;
its analyser cannot see PynamoDB calls anyway). Policy files cannot reference stack resources, so
ARNs use the fixed names, every index by its name, and `${AWS::AccountId}` for the account:
`role_policy_overrides` puts the same policy into the merge template's roles with each such string
an `Fn::Sub` (`cloudformation_policy`), so CloudFormation puts in the deploying account. No DynamoDB, SQS or SSM
ARN has a wildcard (only the stage's log streams do), and each table gets only the actions its
code performs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.dynamodb.models import MODELS
from infrastructure.messaging import partner_ids
from infrastructure.naming import REGION, StageNames
from infrastructure.tables import index_names

# What the functions do to every table; granted per table below, no more than its code does.
# (BatchWriteItem and ConditionCheckItem have no caller in a function: `seed` and the local
# snapshots write in batches with an operator's or the local stack's credentials.)
READ_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
WRITE_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem"]  # TransactWriteItems is authorised per item
DELETE_ACTIONS = ["dynamodb:DeleteItem"]
# The audit log is append-only: the functions may add and read entries, never change or delete them.
APPEND_ONLY_TABLES = {"audit"}
APPEND_ONLY_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
# The partner directory and routing rules: the functions read them; `seed` (an operator) writes them.
READ_ONLY_TABLES = {"directory"}
# Items the functions delete: a message superseded before it was sent, a webhook's dedupe record,
# a transferred-case trace that an erasure or a transfer back removes.
DELETING_TABLES = {"messages", "sms-webhooks", "transferred"}
QUEUE_ACTIONS = ["sqs:GetQueueUrl", "sqs:SendMessage"]
PARAMETER_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters"]  # by name only (extension, SSM client)
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


# The account a stack is deployed to, as CloudFormation writes it (see cloudformation_policy).
ACCOUNT = "${AWS::AccountId}"


def _table_sid(actions: tuple[str, ...]) -> str:
    if list(actions) == APPEND_ONLY_ACTIONS:
        return "AppendOnlyTables"
    if list(actions) == READ_ACTIONS:
        return "ReadOnlyTables"
    return "ReadWriteDeleteTables" if "dynamodb:DeleteItem" in actions else "ReadWriteTables"


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


def table_actions(logical: str) -> list[str]:
    """What the functions may do to one table (logical name)."""
    if logical in APPEND_ONLY_TABLES:
        return APPEND_ONLY_ACTIONS
    if logical in READ_ONLY_TABLES:
        return READ_ACTIONS
    return sorted(READ_ACTIONS + WRITE_ACTIONS + (DELETE_ACTIONS if logical in DELETING_TABLES else []))


def policy_document(names: StageNames) -> dict[str, Any]:
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for logical in MODELS:
        by_actions.setdefault(tuple(table_actions(logical)), []).append(logical)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteStageLogs",
            "Effect": "Allow",
            "Action": LOG_ACTIONS,
            "Resource": [arn("logs", f"log-group:{names.log_group}:*")],
        },
    ]
    for actions, logicals in by_actions.items():
        statements.append(
            {
                "Sid": _table_sid(actions),
                "Effect": "Allow",
                "Action": list(actions),
                "Resource": _table_arns(names, logicals),
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
            "Resource": [arn("ssm", f"parameter{name}") for name in names.twilio_parameters],
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


def role_policy_overrides(names: StageNames, functions: dict[str, str], api_handler: str) -> dict[str, Any]:
    """Each function role's policy for the merge template, as CloudFormation reads it (Fn::Sub).

    Chalice copies the policy file into every role as it is, `${AWS::AccountId}` strings and all,
    which cfn-lint and CloudFormation refuse outside an Fn::Sub; the merge replaces those copies,
    so the template of a plain `chalice package --merge-template` deploys as it is."""
    document = cloudformation_policy(policy_document(names))
    overrides: dict[str, Any] = {}
    for logical in functions.values():
        role = "ApiHandlerRole" if logical == api_handler else f"{logical}Role"  # chalice/package.py's ids
        overrides[role] = {"Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": document}]}}
    return overrides
