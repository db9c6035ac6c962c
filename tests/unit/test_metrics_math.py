"""The percentile method and the Berlin date range of the metrics (chalicelib/domain/metrics.py)."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.metrics import berlin_range, percentile


def test_percentiles_interpolate_linearly_between_closest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5  # the median of an even count: mean of the middle two
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == 3.7  # position 3 × 0.9 = 2.7
    assert percentile([10.0, 0.0, 5.0], 0.9) == 9.0  # unsorted input; position 1.8


@pytest.mark.parametrize("values", [[3.5, 1.25, 9.0, 4.75, 2.0], [float(v) for v in range(1, 38)], [0.1, 0.2]])
def test_percentiles_agree_with_pythons_inclusive_quantiles(values: list[float]) -> None:
    assert percentile(values, 0.5) == round(statistics.median(values), 2)
    assert percentile(values, 0.9) == pytest.approx(
        statistics.quantiles(values, n=10, method="inclusive")[8], abs=0.006
    )


def test_a_berlin_date_range_covers_whole_local_days_across_dst() -> None:
    start, end = berlin_range(date(2025, 3, 30), date(2025, 3, 30))  # clocks go forward at 02:00
    assert start.astimezone(UTC) == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)  # a 23-hour day
