"""Writes the merge template and the per-stage IAM policies from the code: `python -m infrastructure.generate`.

Tables come from the PynamoDB models, queues from the partner list, alarms from the app's
functions, so adding a model, partner or scheduled function only needs a re-run (the tests
fail until the committed files match). `--check` only compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infrastructure.api import EXTENSION_LAYER_PARAMETER, api_overrides, globals_section
from infrastructure.functions import API_HANDLER, app_functions
from infrastructure.iam import policy_document, role_policy_overrides
from infrastructure.identity import HAS_DOMAIN_PREFIX, HAS_PUBLIC_BASE_URL, identity_outputs, identity_resources
from infrastructure.messaging import DEAD_LETTER_QUEUE, queue_resources
from infrastructure.monitoring import HAS_ALARM_EMAIL, monitoring_outputs, monitoring_resources
from infrastructure.naming import CHALICE_CONFIG, TEMPLATE_PATH, StageNames, chalice_config, names
from infrastructure.security import key_resources
from infrastructure.streams import stream_resources, stream_sources
from infrastructure.tables import KEY_RESOURCE, table_resources

DEPLOYED_STAGE = "prod"
# Published by AWS (account 187925254637 for eu-central-1, x86_64); layer versions are immutable.
# Version 24 is the one AWS's table lists (Systems Manager user guide, updated 2026-01-09).
EXTENSION_LAYER_DEFAULT = (
    "arn:aws:lambda:eu-central-1:187925254637:layer:AWS-Parameters-and-Secrets-Lambda-Extension:24"
)
LOG_RETENTION_DAYS = [7, 14, 30, 60, 90, 180, 365]


def parameters() -> dict[str, Any]:
    return {
        "PublicBaseUrl": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(https://[^/\\s]+(/[^\\s]*[^/\\s])?)?$",
            "Description": "https URL at which Twilio and browsers reach the API, without a trailing slash "
            "(the EndpointURL output after the first deploy, or your custom domain). Twilio signatures "
            "are checked against it; the staff sign-in redirects to <it>/staff.",
        },
        "TwilioMessagingServiceSid": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(MG[0-9a-fA-F]{32})?$",
            "Description": "Twilio Messaging Service that sends the SMS (MG…); or leave empty and set TwilioFrom.",
        },
        "TwilioFrom": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(\\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11})?$",
            "Description": "Sender when no Messaging Service is set: an E.164 number or an alphanumeric sender id.",
        },
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "Where alarms are e-mailed (confirm the subscription mail); empty for none.",
        },
        "CognitoDomainPrefix": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$",
            "Description": "Hosted sign-in UI prefix (globally unique); empty for migranet-<stage>-<account id>.",
        },
        "StaffMfa": {
            "Type": "String",
            "Default": "ON",
            "AllowedValues": ["ON", "OPTIONAL"],
            "Description": "Staff see applicants' personal data: an authenticator app is required by default.",
        },
        EXTENSION_LAYER_PARAMETER: {
            "Type": "String",
            "Default": EXTENSION_LAYER_DEFAULT,
            "AllowedPattern": "^arn:aws:lambda:eu-central-1:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$",
            "Description": "AWS Parameters and Secrets Lambda Extension layer (x86_64, eu-central-1) through "
            "which the functions read their keys; the default is version 2, the first published (2022): "
            "set the current version from the extension's documentation.",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 30,
            "AllowedValues": LOG_RETENTION_DAYS,
            "Description": "Days the functions' logs are kept (they are redacted; keep it short anyway).",
        },
    }


def conditions() -> dict[str, Any]:
    def not_empty(parameter: str) -> dict[str, Any]:
        return {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}

    return {
        HAS_PUBLIC_BASE_URL: not_empty("PublicBaseUrl"),
        HAS_ALARM_EMAIL: not_empty("AlarmEmail"),
        HAS_DOMAIN_PREFIX: not_empty("CognitoDomainPrefix"),
    }


def outputs(stage_names: StageNames) -> dict[str, Any]:
    return {
        **identity_outputs(),
        **monitoring_outputs(),
        "DataKeyArn": {"Value": {"Fn::GetAtt": [KEY_RESOURCE, "Arn"]}},
        "DeadLetterQueueUrl": {"Value": {"Ref": DEAD_LETTER_QUEUE}},
        "TwilioParameters": {
            "Description": "Create these yourself (aws ssm put-parameter --type SecureString); never in the repo.",
            "Value": " ".join(stage_names.twilio_parameters),
        },
        "AppKeyParameters": {
            "Description": "Create each with a Fernet key (aws ssm put-parameter --type SecureString).",
            "Value": " ".join(stage_names.app_key_parameters.values()),
        },
    }


def template(stage: str = DEPLOYED_STAGE) -> dict[str, Any]:
    stage_names = names(stage)
    config = chalice_config()
    api_stage = config["stages"][stage].get("api_gateway_stage", "api")
    resources = {
        **key_resources(stage_names),
        **table_resources(stage_names),
        **queue_resources(stage_names),
        **identity_resources(stage_names),
        **monitoring_resources(
            stage_names,
            app_functions(),
            config["app_name"],
            api_stage,
            tuple(name for name, _ in stream_sources()),
        ),
        **api_overrides(),
        **stream_resources(),
        **role_policy_overrides(stage_names, app_functions(), API_HANDLER),
    }
    return {
        "Description": f"MigraNet Intake ({stage}), merged into `chalice package`. Generated by "
        "`python -m infrastructure.generate` from the models, partners and app: do not edit by hand.",
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Globals": globals_section(stage_names),
        "Resources": resources,
        "Outputs": outputs(stage_names),
    }


def policy_path(stage: str) -> Path:
    return CHALICE_CONFIG.parent / f"policy-{stage}.json"


def expected_files() -> dict[Path, dict[str, Any]]:
    files = {TEMPLATE_PATH: template()}
    for stage in chalice_config()["stages"]:
        files[policy_path(stage)] = policy_document(names(stage))
    return files


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def stale_files() -> list[Path]:
    """Committed files that differ from what the code says they should be."""
    return [
        path
        for path, document in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != render(document)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path} (run: python -m infrastructure.generate)", file=sys.stderr)
        return 1 if stale else 0
    for path, document in expected_files().items():
        path.write_text(render(document), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
