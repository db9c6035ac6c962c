"""The production tables are exactly what the PynamoDB models create locally: names, keys, indexes, TTL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.models import MODELS, bind, create_tables
from chalicelib.config import settings
from infrastructure.naming import names

PROD = names("prod")


def template_tables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableName"]: r
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::DynamoDB::Table"
    }


def _keys(key_schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((k["KeyType"], k["AttributeName"]) for k in key_schema)


def _indexes(indexes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        i["IndexName"]: {
            "keys": _keys(i["KeySchema"]),
            "projection": i["Projection"]["ProjectionType"],
            "non_key_attributes": sorted(i["Projection"].get("NonKeyAttributes", [])),
        }
        for i in indexes
    }


def shape_of_template_table(properties: dict[str, Any]) -> dict[str, Any]:
    ttl = properties.get("TimeToLiveSpecification", {})
    return {
        "keys": _keys(properties["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]),
        "global_indexes": _indexes(properties.get("GlobalSecondaryIndexes", [])),
        "local_indexes": _indexes(properties.get("LocalSecondaryIndexes", [])),
        "ttl": ttl.get("AttributeName") if ttl.get("Enabled") else None,
        "billing": properties.get("BillingMode"),
    }


def shape_of_live_table(client: Any, table_name: str) -> dict[str, Any]:
    table = client.describe_table(TableName=table_name)["Table"]
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    return {
        "keys": _keys(table["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
        "global_indexes": _indexes(table.get("GlobalSecondaryIndexes", [])),
        "local_indexes": _indexes(table.get("LocalSecondaryIndexes", [])),
        "ttl": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
        "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
    }


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [f"{field}: models say {expected[field]!r}, template says {actual.get(field)!r}" for field in expected
            if expected[field] != actual.get(field)]  # fmt: skip


@pytest.fixture
def live_shapes() -> Iterator[dict[str, dict[str, Any]]]:
    """Every model's table as PynamoDB creates it (the local stack's path), read back through the API."""
    with mock_aws():
        create_tables(PROD.settings)
        client = boto3.client("dynamodb", region_name="eu-central-1")
        yield {PROD.table(logical): shape_of_live_table(client, PROD.table(logical)) for logical in MODELS}
    # Later tests expect the models bound to the test stage again.
    bind(settings())
    bootstrap.reset()


def test_every_model_has_its_table_in_the_template_and_nothing_else(merge_template):
    expected = {PROD.table(logical) for logical in MODELS}
    in_template = set(template_tables(merge_template))
    assert expected - in_template == set(), "models without a table; run `python -m infrastructure.generate`"
    assert in_template - expected == set(), "tables in the template that no model uses"


def test_keys_indexes_projections_and_ttl_match_the_models(merge_template, live_shapes):
    tables = template_tables(merge_template)
    problems = {
        name: differences(live, shape_of_template_table(tables[name]["Properties"]))
        for name, live in live_shapes.items()
        if name in tables
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_comparison_notices_a_changed_index_or_ttl(merge_template, live_shapes):
    tables = template_tables(merge_template)
    with_index = next(n for n, shape in live_shapes.items() if shape["global_indexes"])
    with_ttl = next(n for n, shape in live_shapes.items() if shape["ttl"])
    changed_index = dict(tables[with_index]["Properties"])
    changed_index["GlobalSecondaryIndexes"] = [
        {**index, "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}}
        for index in changed_index["GlobalSecondaryIndexes"]
    ]
    changed_ttl = {k: v for k, v in tables[with_ttl]["Properties"].items() if k != "TimeToLiveSpecification"}
    assert differences(live_shapes[with_index], shape_of_template_table(changed_index))
    assert differences(live_shapes[with_ttl], shape_of_template_table(changed_ttl))


def test_every_table_is_on_demand_recoverable_encrypted_and_protected(merge_template):
    keys = {k for k, r in merge_template["Resources"].items() if r.get("Type") == "AWS::KMS::Key"}
    for name, table in template_tables(merge_template).items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        sse = properties["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS", name
        assert sse["KMSMasterKeyId"].get("Ref") in keys, f"{name} must use the customer managed key"
        assert properties["DeletionProtectionEnabled"] is True, name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
    for key in keys:
        assert merge_template["Resources"][key]["Properties"]["EnableKeyRotation"] is True
