"""A fresh process as Lambda runs one: cold start and peak memory, for the app and for the baseline.

Usage: python -m bench.child {cold,rss,memory}-{app,baseline} [N]   (memory-*: with tracemalloc)
Environment: DYNAMODB_ENDPOINT etc. point at a moto server (see bench/run.py). Prints one JSON line.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402 - the clock starts before any import, as in a Lambda cold start
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

BASELINE_TABLE = "bench-baseline"


class LambdaContext:
    function_name = "api_handler"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:000000000000:function:bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def intake_body(index: int) -> dict[str, Any]:
    return {
        "language": ["de", "ar", "uk", "en", "tr"][index % 5],
        "given_name": "Layla",
        "family_name": f"Haddad {index}",
        "phone": "0151 1234 5678",
        "postcode": "80331",
        "qualification": {
            "country": "SY",
            "title": "Bachelor of Civil Engineering",
            "profession_group": ["engineering", "health", "it", "business"][index % 4],
            "level": "bachelor",
        },
        "german_level": "B1",
        "goals": ["recognition", "job"],
        "registered_with_employment_agency": index % 2 == 0,
        "message": "I would like to work as an engineer in Munich.",
        "consent": {"data_processing": True, "share_with_partners": True, "sms": True},
    }


def api_event(path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda receives it."""
    headers = {"Content-Type": "application/json", "Host": "bench.example", "Idempotency-Key": key}
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": key,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def app_handler() -> Any:
    from app import app

    def handle(index: int) -> int:
        response = app(api_event("/intake", intake_body(index), f"bench-{os.getpid()}-{index}"), LambdaContext())
        return int(response["statusCode"])

    return handle


def baseline_handler() -> Any:
    import boto3
    import chalice  # noqa: F401 - what a bare Chalice function imports

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT"])

    def handle(index: int) -> int:
        client.put_item(TableName=BASELINE_TABLE, Item={"pk": {"S": f"{os.getpid()}-{index}"}, "n": {"N": "1"}})
        return 201

    return handle


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss is not used: Linux carries the parent's
    high-water mark over fork+exec, so a child of a big process would report the parent's."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(mode: str, count: int) -> dict[str, Any]:
    if mode.startswith("memory"):
        tracemalloc.start()
    handle = app_handler() if mode.endswith("app") else baseline_handler()
    imported = time.perf_counter()
    statuses = [handle(0)]
    first = time.perf_counter()
    for index in range(1, count):
        statuses.append(handle(index))
    result: dict[str, Any] = {
        "mode": mode,
        "import_s": imported - START,
        "first_request_s": first - imported,
        "cold_total_s": first - START,
        "requests": count,
        "errors": sum(1 for s in statuses if s >= 400),
        "max_rss_mb": peak_rss_mb(),
    }
    if mode.startswith("memory"):
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)))
