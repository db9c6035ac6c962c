"""Fixtures for the appointment tests: a desk per signed-in person, Anna at LMU, and a case she holds.
Root fixtures (client, staff_token, frozen_clock, fake_sender, submit_case) live in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import FrozenClock
from tests.functional.appointment_desk import LMU, Desk


@pytest.fixture
def desk(client: Client, staff_token: Callable[..., str]) -> Callable[..., Desk]:
    def make(partner: str | None = LMU, role: str = "staff", name: str = "Anna Berger") -> Desk:
        return Desk(client, staff_token(partner, role=role, name=name))

    return make


@pytest.fixture
def anna(frozen_clock: FrozenClock, fake_sender: Any, desk: Callable[..., Desk]) -> Desk:
    return desk(LMU, name="Anna Berger")


@pytest.fixture
def case_id(anna: Desk, submit_case: Callable[..., dict[str, Any]]) -> str:
    return anna.claimed_case(submit_case)
