"""Fixtures of the reliability suite: the API on loopback, example counts for CI and `make fuzz`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reliability.live import LiveStack, live_stack

# CI (`make test`) runs this many examples per endpoint/property; `make fuzz` raises it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))


@pytest.fixture(scope="session")
def live_api() -> Iterator[LiveStack]:
    with live_stack() as stack:
        yield stack
