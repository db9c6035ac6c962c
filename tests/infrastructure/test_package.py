"""`chalice package` for prod: lints clean, carries schemas and data, and deploys what the issue asks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from chalicelib.adapters.dynamodb.models import MODELS
from chalicelib.adapters.parameter_store import EXTENSION_PORT
from chalicelib.config import PACKAGE_DIR, PROJECT_DIR, settings
from chalicelib.errors import NO_SUCH_ROUTE
from infrastructure.functions import app_functions
from infrastructure.generate import policy_path
from infrastructure.iam import cloudformation_policy, policy_statements, wildcard_findings
from infrastructure.lint import cfn_lint, describe, errors
from infrastructure.naming import chalice_config, names
from infrastructure.tables import index_names

PROD = names("prod")
STACK_PROVIDED = {
    "COGNITO_USER_POOL_ID",
    "COGNITO_APP_CLIENT_ID",
    "TWILIO_SSM_PREFIX",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_FROM",
    "PUBLIC_BASE_URL",
    "COGNITO_DOMAIN",
    "QUEUE_URL_PREFIX",
}
# Read by chalicelib/keys.py (SSM SecureString names), not by Settings.
KEY_PARAMETERS = {"SEALING_KEY_PARAMETER", "PHONE_HASH_KEY_PARAMETER"}


def test_cfn_lint_finds_no_error_in_the_template_or_its_transform(packaged, tmp_path):
    transformed = tmp_path / "cloudformation.json"
    transformed.write_text(json.dumps(packaged.cloudformation), encoding="utf-8")
    for path in (packaged.sam_path, transformed):
        findings = cfn_lint(path)
        assert errors(findings) == [], describe(findings)


def test_the_zip_carries_every_schema_and_data_file_unchanged(packaged):
    expected = {f"chalicelib/_schemas/{p.name}": p for p in (PROJECT_DIR / "schemas").glob("*.json")}
    expected |= {f"chalicelib/data/{p.name}": p for p in (PACKAGE_DIR / "data").glob("*.json")}
    assert "chalicelib/_schemas/intake.schema.json" in expected
    with zipfile.ZipFile(packaged.directory / "deployment.zip") as archive:
        changed = [name for name, source in expected.items() if archive.read(name) != source.read_bytes()]
    assert changed == []


def test_the_zip_carries_bytecode_so_a_cold_start_compiles_nothing(packaged):
    """Lambda cannot write __pycache__; every module in the code zip must come compiled: chalicelib,
    app.py and the Chalice runtime that `chalice package` puts beside them."""
    with zipfile.ZipFile(packaged.directory / "deployment.zip") as archive:
        names = set(archive.namelist())
    sources = {n for n in names if n.endswith(".py")}
    assert {"app.py", "chalice/app.py", "chalice/__init__.py"} <= sources
    tag = sys.implementation.cache_tag
    missing = []
    for source in sources:
        folder, _, file = source.rpartition("/")
        if f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{tag}.pyc" not in names:
            missing.append(source)
    assert len(sources) > 50 and missing == []


def test_the_entry_module_and_chalice_load_from_their_bytecode(packaged, tmp_path):
    """The sources replaced by a line that fails: the import only works if Python never reads them."""
    task = _unzip(packaged.directory / "deployment.zip", tmp_path / "task")
    layer = _unzip(packaged.directory / "layer-deployment.zip", tmp_path / "opt")
    site = layer / "python" / "lib" / "python3.11" / "site-packages"
    for name in ("app.py", "chalice/app.py", "chalice/__init__.py"):
        (task / name).write_text("raise SystemExit('compiled from source')\n", encoding="utf-8")
    probe = f"import sys\nsys.path[:0] = [{str(task)!r}, {str(site)!r}]\nimport app\nprint(len(app.app.routes))\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"STAGE": "prod"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=task, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) > 20


def _unzip(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)
    return into


def test_the_unzipped_package_loads_its_schemas_and_imports_the_app(packaged, tmp_path):
    """Laid out as Lambda does: code in the task folder, dependencies from the layer."""
    task = _unzip(packaged.directory / "deployment.zip", tmp_path / "task")
    layer = _unzip(packaged.directory / "layer-deployment.zip", tmp_path / "opt")
    site = layer / "python" / "lib" / "python3.11" / "site-packages"
    probe = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(task)!r}, {str(site)!r}]\n"
        "from chalicelib.schemas import load_schema, schema_dir\n"
        "schema = load_schema('intake')\n"
        "import app, jsonschema\n"
        "print(json.dumps({'schemas': str(schema_dir()), 'keys': sorted(schema),"
        " 'jsonschema': jsonschema.__file__, 'routes': sorted(app.app.routes)}))\n"
    )
    # -I: neither the project folder nor PYTHONPATH can stand in for a file missing from the zip.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"STAGE": "prod"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, cwd=task, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["schemas"] == str(task / "chalicelib" / "_schemas")
    assert "properties" in seen["keys"]
    assert seen["jsonschema"].startswith(str(site))
    assert "/intake" in seen["routes"]


# Each run claims work a second run would repeat: an SMS sent twice, a partner notified twice.
ONE_AT_A_TIME = ("send_due_messages", "notify_partners")


def test_the_sending_schedules_never_run_twice_at_once():
    prod = chalice_config()["stages"]["prod"]
    assert set(ONE_AT_A_TIME) <= set(app_functions())
    for name in ONE_AT_A_TIME:
        assert prod["lambda_functions"][name]["reserved_concurrency"] == 1, name


def test_packaged_sending_schedules_have_reserved_concurrency_one(packaged):
    handlers = {
        r["Properties"]["Handler"]: r["Properties"]
        for r in packaged.resources_of_type("AWS::Lambda::Function").values()
    }
    assert set(handlers) >= {"app.app", *(f"app.{name}" for name in ONE_AT_A_TIME)}
    for handler, properties in handlers.items():
        if handler.removeprefix("app.") in ONE_AT_A_TIME:
            assert properties["ReservedConcurrentExecutions"] == 1, handler
        else:
            assert "ReservedConcurrentExecutions" not in properties, handler


def test_the_cases_stream_reaches_announce_routed_cases_which_may_read_that_stream_only(packaged):
    resources = packaged.cloudformation["Resources"]
    assert resources["CasesTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    stream = {"Fn::GetAtt": ["CasesTable", "StreamArn"]}
    (mapping,) = packaged.resources_of_type("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == stream  # not the placeholder app.py names
    assert mapping["Properties"]["FunctionName"] == {"Ref": "AnnounceRoutedCases"}
    assert mapping["Properties"]["StartingPosition"] == "TRIM_HORIZON"  # nothing written before it is skipped
    assert mapping["Properties"]["MaximumRetryAttempts"] == 2  # a failing batch cannot hold up the stream
    assert mapping["Properties"]["BisectBatchOnFunctionError"] is True
    assert mapping["Properties"]["MaximumRecordAgeInSeconds"] == 3600  # notify_partners has sent it by then
    policy = resources["AnnounceRoutedCasesStreamPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "AnnounceRoutedCasesRole"}]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [stream] and "dynamodb:GetRecords" in statement["Action"]
    assert "AnnounceRoutedCasesStreamPolicy" in resources["AnnounceRoutedCases"]["DependsOn"]
    behind = resources["AnnounceRoutedCasesIteratorAgeAlarm"]["Properties"]  # partners hear of new cases late
    assert behind["MetricName"] == "IteratorAge" and behind["Threshold"] == 60_000
    assert behind["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "AnnounceRoutedCases"}}]


def test_the_stage_is_throttled_and_intake_more_strictly(packaged):
    (stage,) = packaged.resources_of_type("AWS::ApiGateway::Stage").values()
    by_path = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    everything, intake = by_path[("/*", "*")], by_path[("/~1intake", "POST")]
    assert 0 < intake["ThrottlingRateLimit"] < everything["ThrottlingRateLimit"]
    assert 0 < intake["ThrottlingBurstLimit"] < everything["ThrottlingBurstLimit"]


def test_a_path_no_route_has_is_a_404_that_does_not_repeat_the_token(packaged):
    (response,) = packaged.resources_of_type("AWS::ApiGateway::GatewayResponse").values()
    properties = response["Properties"]
    assert properties["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN" and properties["StatusCode"] == "404"
    assert properties["RestApiId"] == {"Ref": "RestAPI"}
    template = properties["ResponseTemplates"]["application/json"]
    assert json.loads(template) == NO_SUCH_ROUTE and "$" not in template  # nothing of the request in it


def test_the_api_endpoint_is_regional_so_traffic_ends_in_frankfurt(packaged):
    (api,) = packaged.resources_of_type("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]


def test_every_function_gets_the_environment_log_group_policy_and_an_alarm(packaged):
    policy = json.loads(policy_path("prod").read_text(encoding="utf-8"))
    roles = packaged.resources_of_type("AWS::IAM::Role")
    alarmed = {
        d["Value"]["Ref"]
        for a in packaged.resources_of_type("AWS::CloudWatch::Alarm").values()
        for d in a["Properties"].get("Dimensions", [])
        if d["Name"] == "FunctionName"
    }
    functions = packaged.resources_of_type("AWS::Lambda::Function")
    for logical_id, function in functions.items():
        properties = function["Properties"]
        environment = properties["Environment"]["Variables"]
        assert STACK_PROVIDED | KEY_PARAMETERS <= set(environment), logical_id
        assert environment["TABLE_PREFIX"] == PROD.settings.table_prefix, logical_id
        assert environment["QUEUE_PREFIX"] == PROD.settings.queue_prefix, logical_id
        assert properties["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}, logical_id
        # Keys through the Parameters and Secrets extension, next to Chalice's dependency layer.
        assert environment[EXTENSION_PORT] == "2773", logical_id
        assert environment["QUEUE_URL_PREFIX"] == {
            "Fn::Sub": "https://sqs.${AWS::Region}.amazonaws.com/${AWS::AccountId}/"
        }
        assert properties["Layers"][0] == {"Ref": "ParametersSecretsExtensionLayerArn"}, logical_id
        assert len(properties["Layers"]) == 2, logical_id
        role = roles[properties["Role"]["Fn::GetAtt"][0]]
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [cloudformation_policy(policy)], (
            logical_id
        )
        assert logical_id in alarmed, f"no Errors alarm for {logical_id}"


def test_the_packaged_template_has_no_wildcard_permissions(packaged):
    assert wildcard_findings(packaged.sam) == []
    assert wildcard_findings(packaged.cloudformation) == []


def _role_statements(packaged) -> dict[str, list[dict[str, Any]]]:
    return {
        logical_id: list(policy_statements(role["Properties"]["Policies"]))
        for logical_id, role in packaged.resources_of_type("AWS::IAM::Role").items()
    }


IN_THE_DEPLOYING_ACCOUNT = re.compile(
    r"^arn:aws:(?P<service>dynamodb|sqs):eu-central-1:\$\{AWS::AccountId\}:(?P<name>.+)$"
)


def _sub_text(resource: Any) -> str:
    """The ARN CloudFormation builds: a plain string or an Fn::Sub without variables of its own."""
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        return resource["Fn::Sub"]
    assert isinstance(resource, str), f"unexpected resource {resource!r}"
    assert "${" not in resource, f"{resource!r} would reach IAM unsubstituted"
    return resource


def test_the_roles_name_each_table_index_and_queue_in_the_deploying_account(packaged):
    """Issue 6: only the resources the functions use; no `*` in a DynamoDB or SQS resource, the
    account being the one CloudFormation deploys to, and every index the models define named."""
    functions = packaged.resources_of_type("AWS::Lambda::Function").values()
    roles = _role_statements(packaged)
    assert {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions} <= set(roles)
    expected_indexes = {
        f"table/{PROD.table(logical)}/index/{index}"
        for logical, model in MODELS.items()
        for index in index_names(model)
    }
    assert expected_indexes, "the models define indexes"
    for logical_id, statements in roles.items():
        granted: dict[str, set[str]] = {}
        for statement in statements:
            resources = statement.get("Resource", [])
            for resource in resources if isinstance(resources, list) else [resources]:
                text = _sub_text(resource)
                if text.startswith(("arn:aws:dynamodb:", "arn:aws:sqs:")):
                    granted.setdefault(text, set()).update(statement["Action"])
        assert granted, logical_id
        names: dict[str, set[str]] = {}
        for text, actions in granted.items():
            assert "*" not in text and "?" not in text, (logical_id, text)
            match = IN_THE_DEPLOYING_ACCOUNT.match(text)
            assert match, (logical_id, text)
            names[match["name"]] = actions
            if match["service"] == "dynamodb":
                assert match["name"].startswith(f"table/{PROD.settings.table_prefix}-"), (logical_id, text)
        named = {name: actions for name, actions in names.items() if "/index/" in name}
        assert set(named) == expected_indexes, logical_id
        assert all("dynamodb:Query" in actions for actions in named.values()), logical_id


def _plain_strings(value: Any) -> list[str]:
    """Strings IAM would receive as they are (everything but the text of an Fn::Sub)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _plain_strings(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() if key != "Fn::Sub" for s in _plain_strings(item)]
    return []


def test_no_role_policy_string_reaches_iam_with_a_stack_value_unsubstituted(packaged):
    for template in (packaged.sam, packaged.cloudformation):
        for logical_id, role in template["Resources"].items():
            if role["Type"] == "AWS::IAM::Role":
                plain = _plain_strings(role["Properties"].get("Policies", []))
                assert not [s for s in plain if "${AWS::" in s], logical_id


def _placeholder(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${AWS::Region}", "eu-central-1").replace("${AWS::AccountId}", "123456789012")
    assert isinstance(value, str), f"unexpected environment value {value!r}"
    return value


def test_the_values_the_stack_provides_reach_the_app_settings(packaged, monkeypatch):
    """Each stack value the functions get is one the app actually reads (names agree on both sides)."""
    function = packaged.resources_of_type("AWS::Lambda::Function")["APIHandler"]
    environment = {k: _placeholder(v) for k, v in function["Properties"]["Environment"]["Variables"].items()}
    for name in [n for n in os.environ if n.startswith(("COGNITO_", "TWILIO_", "TABLE_", "QUEUE_", "PUBLIC_"))]:
        monkeypatch.delenv(name)
    for name, value in (environment | {"AWS_REGION": "eu-central-1"}).items():
        monkeypatch.setenv(name, value)
    current = settings()
    values = [str(getattr(current, f.name)) for f in fields(current)]
    assert current.stage == "prod" and current.table("cases") == PROD.table("cases")
    assert current.queue_name("via-bayern") == PROD.queue("via-bayern")
    unread = [name for name in sorted(STACK_PROVIDED) if not any(environment[name] in v for v in values)]
    assert unread == [], f"set by the stack but read by no setting: {unread}"
