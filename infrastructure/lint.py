"""Offline checks of a packaged template: the SAM transform CloudFormation will run, and cfn-lint."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# What `aws cloudformation package` puts in place of the local zips; the transform needs S3 URIs.
LOCAL_ARTIFACTS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class _NoManagedPolicies:
    """The functions use their own roles, never SAM's managed-policy shortcuts: nothing to look up."""

    def load(self) -> dict[str, str]:
        return {}


def sam_to_cloudformation(sam: dict[str, Any]) -> dict[str, Any]:
    """Runs the AWS::Serverless transform locally, as CloudFormation will on deploy."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(sam)
    for resource in template["Resources"].values():
        uri_property = LOCAL_ARTIFACTS.get(resource["Type"])
        if uri_property and isinstance(resource["Properties"].get(uri_property), str):
            zip_name = Path(resource["Properties"][uri_property]).name
            resource["Properties"][uri_property] = f"s3://migranet-artifacts/{zip_name}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    return transform(template, {}, _NoManagedPolicies())


def cfn_lint(path: Path) -> list[dict[str, Any]]:
    """cfn-lint's findings (errors, warnings, informational) for a template file."""
    beside = Path(sys.executable).parent / "cfn-lint"
    command = [str(beside) if beside.exists() else "cfn-lint", "--format", "json", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):
        raise RuntimeError(f"cfn-lint failed to run ({result.returncode}): {result.stderr}")
    return json.loads(result.stdout or "[]")


def errors(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f.get("Level") == "Error"]


def describe(findings: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{f.get('Level')} {f.get('Rule', {}).get('Id')} {f.get('Message')} "
        f"(line {f.get('Location', {}).get('Start', {}).get('LineNumber')})"
        for f in findings
    )
