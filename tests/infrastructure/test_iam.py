"""Least privilege: no wildcard action anywhere, no wildcard in any DynamoDB or SQS resource (account,
table, index, queue), and still every table, index and queue the code uses."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.models import MODELS
from chalicelib.data import default_partners
from infrastructure.generate import policy_path
from infrastructure.iam import ACCOUNT, cloudformation_policy, policy_statements, wildcard_findings
from infrastructure.naming import chalice_config, names
from infrastructure.tables import index_names

STAGES = sorted(chalice_config()["stages"])


def allow(actions: Any, resources: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


@pytest.mark.parametrize(
    "document",
    [
        allow("*", "arn:aws:s3:::bucket/key"),
        allow(["dynamodb:*"], "arn:aws:dynamodb:eu-central-1:1:table/migranet-prod-cases"),
        allow(["s3:Get*"], "arn:aws:s3:::bucket/key"),
        allow(["dynamodb:GetItem"], "*"),
        allow(["dynamodb:GetItem"], "arn:aws:dynamodb:eu-central-1:*:table/*"),
        allow(["dynamodb:GetItem"], "arn:aws:dynamodb:eu-central-1:*:table/migranet-prod-*"),
        allow(["dynamodb:Query"], "arn:aws:dynamodb:*:*:*"),
        allow(["sqs:SendMessage"], "arn:aws:sqs:eu-central-1:*:*"),
        allow(["sqs:SendMessage"], {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:migranet-*"}),
        # Named tables and queues, but any account or every index: still a wildcard.
        allow(["dynamodb:GetItem"], "arn:aws:dynamodb:eu-central-1:*:table/migranet-prod-cases"),
        allow(["dynamodb:Query"], "arn:aws:dynamodb:eu-central-1:123456789012:table/migranet-prod-cases/index/*"),
        allow(["dynamodb:Query"], {"Fn::Sub": "arn:aws:dynamodb:eu-central-1:${AWS::AccountId}:table/t/index/*"}),
        allow(["sqs:SendMessage"], "arn:aws:sqs:eu-central-1:*:migranet-prod-via-bayern"),
        allow(["sqs:SendMessage"], "arn:aws:sqs:eu-central-1:12345678901?:migranet-prod-via-bayern"),
        allow(["sqs:SendMessage"], {"Fn::Sub": ["arn:aws:sqs:eu-central-1:${A}:q", {"A": "*"}]}),
        allow(["sqs:SendMessage"], {"Fn::Join": [":", ["arn:aws:sqs:eu-central-1", "*", "q"]]}),
        allow(["dynamodb:Get?tem"], "arn:aws:dynamodb:eu-central-1:123456789012:table/t"),
        # A wildcard DynamoDB ARN is refused whatever the statement's actions say.
        allow(["kms:Decrypt"], "arn:aws:dynamodb:eu-central-1:*:table/t"),
        {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:s3:::b"}]},
        {"Resources": {"Role": {"Properties": {"Policies": [{"PolicyDocument": allow("sqs:*", "*")}]}}}},
    ],
)
def test_the_check_rejects_wildcards(document):
    assert wildcard_findings(document)


@pytest.mark.parametrize(
    "document",
    [
        allow(["dynamodb:Query"], "arn:aws:dynamodb:eu-central-1:${AWS::AccountId}:table/migranet-prod-cases/index/x"),
        allow(["dynamodb:Query"], {"Fn::Sub": "arn:aws:dynamodb:eu-central-1:${AWS::AccountId}:table/t/index/x"}),
        allow(["dynamodb:GetItem"], "arn:aws:dynamodb:eu-central-1:123456789012:table/migranet-prod-cases"),
        allow(["sqs:SendMessage"], {"Fn::Sub": "arn:aws:sqs:eu-central-1:${AWS::AccountId}:migranet-prod-via-bayern"}),
        allow(["sqs:SendMessage"], {"Fn::GetAtt": ["ViaBayernQueue", "Arn"]}),
        allow(["logs:PutLogEvents"], "arn:aws:logs:eu-central-1:${AWS::AccountId}:log-group:/aws/lambda/x:*"),
        allow(["kms:Decrypt"], "*"),  # key policies can only say "*": the key itself
    ],
)
def test_the_check_accepts_named_resources(document):
    assert wildcard_findings(document) == []


@pytest.mark.parametrize("stage", STAGES)
def test_stage_policy_files_have_no_wildcards(stage):
    document = json.loads(policy_path(stage).read_text(encoding="utf-8"))
    assert list(policy_statements(document)), "an empty policy would hide a broken generator"
    assert wildcard_findings(document) == []


def test_merge_template_has_no_wildcards(merge_template):
    assert list(policy_statements(merge_template)), "the key policy at least must be checked"
    assert wildcard_findings(merge_template) == []


def _policy(stage: str = "prod") -> dict[str, Any]:
    return json.loads(policy_path(stage).read_text(encoding="utf-8"))


def _granted(document: dict[str, Any], resource: str) -> set[str]:
    actions: set[str] = set()
    for statement in policy_statements(document):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resource in resources and statement["Effect"] == "Allow":
            actions |= set(statement["Action"])
    return actions


def _data_resources(document: dict[str, Any]) -> list[str]:
    return [
        resource
        for statement in policy_statements(document)
        for resource in statement["Resource"]
        if resource.startswith(("arn:aws:dynamodb:", "arn:aws:sqs:"))
    ]


def test_prod_policy_reaches_every_table_index_and_partner_queue():
    """Least privilege must still work: every table, index and queue the code uses is granted."""
    prod = names("prod")
    document = _policy("prod")
    for logical, model in MODELS.items():
        table = f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/{prod.table(logical)}"
        granted = _granted(document, table)
        assert {"dynamodb:GetItem", "dynamodb:Query"} <= granted, logical
        assert ("dynamodb:PutItem" in granted) is (logical != "directory"), logical
        for index in index_names(model):
            assert "dynamodb:Query" in _granted(document, f"{table}/index/{index}"), (logical, index)
    for partner in default_partners():
        queue = f"arn:aws:sqs:eu-central-1:{ACCOUNT}:{prod.queue(partner['id'])}"
        assert _granted(document, queue) == {"sqs:GetQueueUrl", "sqs:SendMessage"}, partner["id"]


@pytest.mark.parametrize("stage", STAGES)
def test_tables_indexes_and_queues_are_each_named_in_the_deploying_account(stage):
    """Nothing but the stage's tables, the indexes their models define and the partner queues, in
    the account CloudFormation fills in: no `*` account, no `index/*`."""
    stage_names = names(stage)
    expected = set()
    for logical, model in MODELS.items():
        table = f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/{stage_names.table(logical)}"
        expected |= {table, *(f"{table}/index/{index}" for index in index_names(model))}
    expected |= {f"arn:aws:sqs:eu-central-1:{ACCOUNT}:{stage_names.queue(p['id'])}" for p in default_partners()}
    granted = _data_resources(_policy(stage))
    assert sorted(granted) == sorted(expected)
    assert not [r for r in granted if "*" in r]
    assert any("/index/" in r for r in granted), "the models define indexes: they must be granted"


def test_the_policy_becomes_fn_sub_where_it_names_the_account():
    document = allow(
        ["dynamodb:Query"],
        [
            f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/t/index/i",
            "arn:aws:s3:::bucket/${aws:username}/*",
            f"arn:aws:s3:::b/{ACCOUNT}/${{aws:username}}",
            {"Fn::GetAtt": ["Queue", "Arn"]},
        ],
    )
    assert cloudformation_policy(document)["Statement"][0]["Resource"] == [
        {"Fn::Sub": "arn:aws:dynamodb:eu-central-1:${AWS::AccountId}:table/t/index/i"},
        "arn:aws:s3:::bucket/${aws:username}/*",  # an IAM policy variable outside Fn::Sub stays as it is
        {"Fn::Sub": "arn:aws:s3:::b/${AWS::AccountId}/${!aws:username}"},
        {"Fn::GetAtt": ["Queue", "Arn"]},
    ]
    assert cloudformation_policy(document)["Statement"][0]["Action"] == ["dynamodb:Query"]


def test_the_audit_log_cannot_be_changed_or_deleted_by_the_functions():
    prod = names("prod")
    audit = _granted(_policy("prod"), f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/{prod.table('audit')}")
    assert "dynamodb:PutItem" in audit
    assert audit & {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} == set()


def test_each_table_gets_only_what_its_code_does():
    """The partner directory is read-only for the functions (an operator seeds it); only the tables
    whose code deletes items may be deleted from; no batch writes or condition checks at all."""
    prod = names("prod")
    document = _policy("prod")
    deleting = set()
    for logical in MODELS:
        granted = _granted(document, f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/{prod.table(logical)}")
        assert granted & {"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"} == set(), logical
        if "dynamodb:DeleteItem" in granted:
            deleting.add(logical)
        if logical == "directory":
            assert granted == {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
    assert deleting == {"messages", "sms-webhooks", "transferred"}
    actions = {a for statement in policy_statements(document) for a in statement["Action"]}
    assert "ssm:GetParametersByPath" not in actions


def test_the_functions_can_read_the_twilio_parameters_and_app_keys_and_nothing_else_in_ssm():
    prod = names("prod")
    ssm = [s for s in policy_statements(_policy("prod")) if any(a.startswith("ssm:") for a in s["Action"])]
    granted = [r for s in ssm if "ssm:GetParameters" in s["Action"] for r in s["Resource"]]
    for parameter in [*prod.twilio_parameters, *prod.app_key_parameters.values()]:
        arn = f"arn:aws:ssm:eu-central-1:{ACCOUNT}:parameter{parameter}"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in granted), parameter
    allowed = (prod.twilio_ssm_prefix, *prod.app_key_parameters.values())
    assert all(
        r.startswith(tuple(f"arn:aws:ssm:eu-central-1:{ACCOUNT}:parameter{p}" for p in allowed)) for r in granted
    )
    assert not any("*" in r for r in granted)  # each parameter by its name
