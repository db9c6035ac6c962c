"""The Parameters and Secrets extension for section 3's cold start as deployed: the fake from
tests/fakes, answering from moto's Parameter Store.

Like the real extension it runs beside the function (a thread of the bench process; the real
one is a process of its own), holds its SSM client from its own start, and begins each execution
environment with an empty cache: every request makes one GetParameter call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes.parameters_extension import parameters_extension as fake_extension

TOKEN = "bench-session-token"


@contextmanager
def parameters_extension(ssm_endpoint: str) -> Iterator[dict[str, str]]:
    """Serves on a free local port; yields the environment a function needs to use it."""
    import boto3

    ssm = boto3.client(
        "ssm", endpoint_url=ssm_endpoint, region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    )

    def lookup(name: str, decrypt: bool) -> str | None:
        try:
            return str(ssm.get_parameter(Name=name, WithDecryption=decrypt)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            return None

    with fake_extension(lookup, TOKEN) as extension:
        yield extension.environment
