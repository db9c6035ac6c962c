"""Fixtures of the reliability suite: the API on loopback, example counts for CI and `make fuzz`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reliability.live import LiveStack, live_stack

# CI (`make test`) runs this many examples per endpoint/property; `make fuzz` raises it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))


@pytest.fixture(scope="session")
def live_api(request: pytest.FixtureRequest) -> Iterator[LiveStack]:
    if not request.config.getoption("--dynamodb-local"):
        with live_stack() as stack:
            yield stack
        return
    # A DynamoDB Local of its own: the in-process tests drop every table of theirs after each test.
    from bench import dynamodb_local

    with dynamodb_local.server() as endpoint, live_stack(endpoint) as stack:
        yield stack
