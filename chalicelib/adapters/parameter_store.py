"""SecureString parameters from Parameter Store: through the AWS Parameters and Secrets Lambda
Extension where the stack attaches it, else with an SSM client.

The extension is a local HTTP cache in front of Parameter Store. With it a cold start needs no SSM
client of its own, which is the dearest part of reading a key: a second botocore session and
SSM's large service model (~50 ms on the development machine, more on a 512 MB Lambda). The
stack sets PARAMETERS_SECRETS_EXTENSION_HTTP_PORT with the layer; without it, or if the extension
does not answer, one GetParameters call reads every parameter asked for.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from chalicelib.errors import RetryableError

log = logging.getLogger(__name__)

EXTENSION_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
EXTENSION_TIMEOUT_SECONDS = 3.0


@cache
def read(parameters: tuple[str, ...], region: str) -> dict[str, bytes]:
    """Name → decrypted value of each parameter that exists and may be read; once per container."""
    port = os.environ.get(EXTENSION_PORT)
    if port:
        values = _through_extension(parameters, port)
        if values is not None:
            return values
    return _with_client(parameters, region)


def _through_extension(parameters: tuple[str, ...], port: str) -> dict[str, bytes] | None:
    """None when the extension does not answer as documented (then the caller asks SSM itself)."""
    # One request per parameter (the extension has no batch call), in parallel: a cold start waits
    # for one Parameter Store round trip, not one per key.
    with ThreadPoolExecutor(max_workers=max(1, len(parameters))) as pool:
        answers = list(pool.map(lambda name: _one_through_extension(name, port), parameters))
    if any(answer is None for answer in answers):
        return None
    return {name: value for name, value in zip(parameters, answers, strict=True) if value is not None}


def _one_through_extension(parameter: str, port: str) -> bytes | None:
    query = urlencode({"name": parameter, "withDecryption": "true"})
    request = Request(
        f"http://localhost:{port}/systemsmanager/parameters/get?{query}",
        # The extension answers only callers that hold the function's session token.
        headers={"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")},
    )
    try:
        with urlopen(request, timeout=EXTENSION_TIMEOUT_SECONDS) as response:
            return str(json.load(response)["Parameter"]["Value"]).encode()
    except (OSError, ValueError, KeyError, TypeError) as error:
        # Never the value or the answer's body: only what kind of failure it was.
        log.warning("parameter not read through the extension; asking SSM", extra={"error": type(error).__name__})
        return None


@cache
def _client(region: str) -> Any:
    """botocore's own client, since importing boto3 costs a cold start ~50 ms."""
    from botocore.session import get_session

    return get_session().create_client("ssm", region_name=region)


# Parameter Store's answers when it is busy (GetParameters shares ~40 calls/s per account and
# region): a burst of cold starts can meet them after botocore's own retries.
BUSY_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalServerError"})


def _with_client(parameters: tuple[str, ...], region: str) -> dict[str, bytes]:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        answer = _client(region).get_parameters(Names=list(parameters), WithDecryption=True)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else "no answer"
        if code not in BUSY_CODES and code != "no answer":
            raise
        # Not cached (read() caches answers only): the caller's retry asks again.
        log.warning("parameter store busy; the request may be retried", extra={"error": code})
        raise RetryableError("Keys are not available yet; please retry in a moment.", retry_after_seconds=2) from error
    return {found["Name"]: found["Value"].encode() for found in answer["Parameters"]}
