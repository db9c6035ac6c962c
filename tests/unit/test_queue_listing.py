"""Which queue a listing reads and which case status it keeps (a scheduled case is held: claimed queue)."""

from __future__ import annotations

import pytest

from chalicelib.domain.staff import queue_listing, queue_status


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ("routed", ("routed", None)),
        ("claimed", ("claimed", None)),  # claimed and scheduled cases alike
        ("scheduled", ("claimed", "scheduled")),
        ("closed", ("closed", None)),
        ("transferred", ("transferred", None)),
    ],
)
def test_a_listing_reads_the_queue_the_cases_are_keyed_in(listing: str, expected: tuple[str, str | None]) -> None:
    assert queue_listing(listing) == expected


def test_a_scheduled_case_is_keyed_in_the_claimed_queue() -> None:
    assert queue_status("scheduled") == queue_listing("scheduled")[0] == "claimed"
