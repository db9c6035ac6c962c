"""DynamoDB tables generated from the PynamoDB models, so production has exactly the keys the code uses."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.models import MODELS
from infrastructure.naming import StageNames, cfn_name

KEY_RESOURCE = "DataKey"


def table_logical_id(logical: str) -> str:
    return f"{cfn_name(logical)}Table"


def ttl_attribute(model: type[Model]) -> str | None:
    """The DynamoDB name of the model's TTLAttribute (PynamoDB allows at most one)."""
    for attribute in model.get_attributes().values():
        if isinstance(attribute, TTLAttribute):
            return attribute.attr_name
    return None


def index_names(model: type[Model]) -> list[str]:
    """The model's global and local secondary indexes, as its table (and the IAM policy) names them."""
    schema = model._get_schema()
    return [index["index_name"] for index in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]]


def _index(index: dict[str, Any]) -> dict[str, Any]:
    projection = {"ProjectionType": index["projection"]["ProjectionType"]}
    if index["projection"].get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = sorted(index["projection"]["NonKeyAttributes"])
    return {
        "IndexName": index["index_name"],
        "KeySchema": _key_schema(index["key_schema"]),
        "Projection": projection,
    }


def _key_schema(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    # HASH before RANGE: CloudFormation requires that order.
    ordered = sorted(keys, key=lambda k: k["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def table_resource(logical: str, model: type[Model], names: StageNames) -> dict[str, Any]:
    # _get_schema is what PynamoDB's own create_table sends (and what the local stack gets).
    schema = model._get_schema()
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]:
        definitions.update({d["AttributeName"]: d["AttributeType"] for d in index.get("attribute_definitions", [])})
    properties: dict[str, Any] = {
        "TableName": names.table(logical),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())],
        "KeySchema": _key_schema(schema["key_schema"]),
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [_index(i) for i in schema["global_secondary_indexes"]]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [_index(i) for i in schema["local_secondary_indexes"]]
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": stream}
    ttl = ttl_attribute(model)
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    properties |= {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": KEY_RESOURCE}},
        "DeletionProtectionEnabled": True,
        "Tags": [{"Key": "migranet:table", "Value": logical}],
    }
    # Retain: deleting the stack must never delete applicants' data by accident.
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def table_resources(names: StageNames) -> dict[str, Any]:
    return {table_logical_id(logical): table_resource(logical, model, names) for logical, model in MODELS.items()}
