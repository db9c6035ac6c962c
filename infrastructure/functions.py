"""The Lambda functions Chalice generates for the app, by Python name and CloudFormation logical id."""

from __future__ import annotations

from typing import Any

from infrastructure.naming import cfn_name

API_HANDLER = "APIHandler"


def app_functions() -> dict[str, str]:
    """Python function name → logical id, as `chalice package` names them (routes share APIHandler)."""
    from app import app

    functions: dict[str, str] = {}
    if app.routes:
        functions["api_handler"] = API_HANDLER
    sources: list[Any] = [*app.event_sources, *app.pure_lambda_functions]
    for source in sources:
        functions[source.name] = cfn_name(source.name)
    return functions
