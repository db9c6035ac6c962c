"""Least privilege: no wildcard action anywhere, no wildcard DynamoDB table or SQS queue."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.models import MODELS
from chalicelib.data import default_partners
from infrastructure.generate import policy_path
from infrastructure.iam import policy_statements, wildcard_findings
from infrastructure.naming import chalice_config, names


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
        {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:s3:::b"}]},
        {"Resources": {"Role": {"Properties": {"Policies": [{"PolicyDocument": allow("sqs:*", "*")}]}}}},
    ],
)
def test_the_check_rejects_wildcards(document):
    assert wildcard_findings(document)


@pytest.mark.parametrize(
    "document",
    [
        allow(["dynamodb:Query"], "arn:aws:dynamodb:eu-central-1:*:table/migranet-prod-cases/index/*"),
        allow(["sqs:SendMessage"], "arn:aws:sqs:eu-central-1:*:migranet-prod-via-bayern"),
        allow(["sqs:SendMessage"], {"Fn::GetAtt": ["ViaBayernQueue", "Arn"]}),
        allow(["logs:PutLogEvents"], "arn:aws:logs:eu-central-1:*:log-group:/aws/lambda/x:*"),
        allow(["kms:Decrypt"], "*"),  # key policies can only say "*": the key itself
    ],
)
def test_the_check_accepts_named_resources(document):
    assert wildcard_findings(document) == []


@pytest.mark.parametrize("stage", sorted(chalice_config()["stages"]))
def test_stage_policy_files_have_no_wildcards(stage):
    document = json.loads(policy_path(stage).read_text(encoding="utf-8"))
    assert list(policy_statements(document)), "an empty policy would hide a broken generator"
    assert wildcard_findings(document) == []


def test_merge_template_has_no_wildcards(merge_template):
    assert list(policy_statements(merge_template)), "the key policy at least must be checked"
    assert wildcard_findings(merge_template) == []


def _granted(document: dict[str, Any], resource: str) -> set[str]:
    actions: set[str] = set()
    for statement in policy_statements(document):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resource in resources and statement["Effect"] == "Allow":
            actions |= set(statement["Action"])
    return actions


def test_prod_policy_reaches_every_table_index_and_partner_queue():
    """Least privilege must still work: every table and queue the code uses is granted."""
    prod = names("prod")
    document = json.loads(policy_path("prod").read_text(encoding="utf-8"))
    for logical in MODELS:
        table = f"arn:aws:dynamodb:eu-central-1:*:table/{prod.table(logical)}"
        assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= _granted(document, table), logical
        assert "dynamodb:Query" in _granted(document, f"{table}/index/*"), logical
    for partner in default_partners():
        queue = f"arn:aws:sqs:eu-central-1:*:{prod.queue(partner['id'])}"
        assert _granted(document, queue) == {"sqs:GetQueueUrl", "sqs:SendMessage"}, partner["id"]


def test_the_audit_log_cannot_be_changed_or_deleted_by_the_functions():
    prod = names("prod")
    document = json.loads(policy_path("prod").read_text(encoding="utf-8"))
    audit = _granted(document, f"arn:aws:dynamodb:eu-central-1:*:table/{prod.table('audit')}")
    assert "dynamodb:PutItem" in audit
    assert audit & {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} == set()


def test_the_functions_can_read_the_twilio_parameters_and_app_keys_and_nothing_else_in_ssm():
    prod = names("prod")
    document = json.loads(policy_path("prod").read_text(encoding="utf-8"))
    ssm = [s for s in policy_statements(document) if any(a.startswith("ssm:") for a in s["Action"])]
    granted = [r for s in ssm if "ssm:GetParameters" in s["Action"] for r in s["Resource"]]
    for parameter in [*prod.twilio_parameters, *prod.app_key_parameters.values()]:
        arn = f"arn:aws:ssm:eu-central-1:*:parameter{parameter}"
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in granted), parameter
    allowed = (prod.twilio_ssm_prefix, *prod.app_key_parameters.values())
    assert all(r.startswith(tuple(f"arn:aws:ssm:eu-central-1:*:parameter{p}" for p in allowed)) for r in granted)
    assert not any(r.endswith("parameter/migranet/prod/keys/*") for r in granted)
