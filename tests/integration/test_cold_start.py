"""A cold Lambda loads only what its request needs (issue 8: cold start within 1.3x of a bare function).

Each check runs in a fresh interpreter, as a new Lambda container would; the intake is handled
against moto's server in a child process (moto in this process would import everything itself).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib.config import PROJECT_DIR
from tests.live import api_environment, moto_server

# Needed only by staff routes (PyJWT), GET /openapi.json, the HTML pages, SMS (planned and sent by
# send_due_messages, not by the intake), reports, or other use cases; boto3 (botocore is enough)
# and jsonschema (only for invalid documents) neither.
NOT_FOR_AN_INTAKE = (
    "boto3",
    "jsonschema",
    "jwt",
    "twilio",
    "babel",
    "chalicelib.domain.messages",
    "chalicelib.domain.metrics",
    "chalicelib.services.messaging",
    "chalicelib.services.confirmations",
    "chalicelib.adapters.tokens",
    "chalicelib.openapi",
    "chalicelib.pages",
    "chalicelib.adapters.dynamodb.appointment_store",
    "chalicelib.services.applicant",
    "chalicelib.services.appointments",
    "chalicelib.services.appointment_upkeep",
    "chalicelib.services.coordinator",
    "chalicelib.services.reporting",
    "chalicelib.services.retention",
    "chalicelib.services.staff",
)

COLD_INTAKE = """
import gc, json, sys
from app import app
collecting_after_import = gc.isenabled()

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "api_handler", 512, "cold"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:cold"
    def get_remaining_time_in_millis(self): return 30000

headers = {"Content-Type": "application/json", "Idempotency-Key": "cold-start-1"}
event = {
    "resource": "/intake", "path": "/intake", "httpMethod": "POST", "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/intake", "httpMethod": "POST", "path": "/api/intake", "stage": "api",
                       "requestId": "cold", "identity": {"sourceIp": "127.0.0.1"}},
    "body": sys.argv[1], "isBase64Encoded": False,
}
response = app(event, Context())
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
                  "loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules],
                  "collecting_after_import": collecting_after_import, "collecting_after": gc.isenabled(),
                  "frozen": gc.get_freeze_count()}))
"""


def test_import_app_loads_nothing_only_other_routes_need() -> None:
    code = f"import sys, app; print([m for m in {NOT_FOR_AN_INTAKE!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_cold_process_stores_and_routes_an_intake_without_the_other_routes_libraries(
    tmp_path: Path, valid_intake: dict[str, Any]
) -> None:
    with moto_server() as moto_url:
        done = subprocess.run(
            [sys.executable, "-c", COLD_INTAKE, json.dumps(valid_intake), json.dumps(NOT_FOR_AN_INTAKE)],
            cwd=PROJECT_DIR,
            env=api_environment(moto_url, tmp_path),
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])  # the app logs JSON lines before it
    assert result["status"] == 201, result
    assert result["body"]["partner"] == "akademie-ingenieure" and result["body"]["case_id"]
    assert result["loaded"] == []
    # The collector waits out the start and then runs again, without rescanning what the start built.
    assert result["collecting_after_import"] is False
    assert result["collecting_after"] is True and result["frozen"] > 10_000


def test_a_cold_process_as_deployed_reads_its_keys_through_the_extension(
    tmp_path: Path, valid_intake: dict[str, Any]
) -> None:
    """Stage prod: the sealing and phone-hash keys are SSM parameters, read through the Parameters
    and Secrets extension; an SSM endpoint that refuses every connection shows no client is used."""
    from cryptography.fernet import Fernet

    from tests.fakes.parameters_extension import parameters_extension

    parameters = {"SEALING_KEY_PARAMETER": "/migranet/prod/keys/sealing-key"}
    parameters["PHONE_HASH_KEY_PARAMETER"] = "/migranet/prod/keys/phone-hash-key"
    values = {name: Fernet.generate_key().decode() for name in parameters.values()}
    with (
        moto_server() as moto_url,
        parameters_extension(lambda name, decrypt: values.get(name) if decrypt else None, "cold-token") as extension,
    ):
        env = {
            **api_environment(moto_url, tmp_path),
            "STAGE": "prod",
            **parameters,
            **extension.environment,
            "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9",  # nothing answers there
        }
        done = subprocess.run(
            [sys.executable, "-c", COLD_INTAKE, json.dumps(valid_intake), json.dumps(NOT_FOR_AN_INTAKE)],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 201, result
    assert result["loaded"] == []  # boto3 among them
    assert sorted(extension.asked) == sorted((name, "cold-token") for name in parameters.values())


COLD_SCHEDULE = """
import gc, json, sys
import app

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "settle_past_appointments", 512, "tick"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:tick"
    def get_remaining_time_in_millis(self): return 30000

paused = not gc.isenabled()
result = app.settle_past_appointments({}, Context())
print(json.dumps({"result": result, "paused": paused, "collecting_after": gc.isenabled()}))
"""


def test_a_scheduled_function_resumes_garbage_collection_after_its_first_tick(tmp_path: Path) -> None:
    """Every function of the app (not only the API) ends the cold-start pause after its first event."""
    with moto_server() as moto_url:
        done = subprocess.run(
            [sys.executable, "-c", COLD_SCHEDULE],
            cwd=PROJECT_DIR,
            env=api_environment(moto_url, tmp_path),
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["paused"] is True
    assert isinstance(result["result"], dict)
    assert result["collecting_after"] is True
