"""Coordinator metrics: `GET /coordinator/metrics?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv|csv-excel-de]`.

Dates are Europe/Berlin calendar days, both included; without them the last 30 days up to
today. The figures (their meaning and the percentile method: chalicelib/domain/metrics.py)
come from the statistics kept on each case, which erasure leaves alone, read with one Query
per month on the cases' stats index.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain import metrics
from chalicelib.domain.staff import StaffIdentity
from chalicelib.errors import FieldError, ForbiddenError, ValidationError
from chalicelib.ports import Clock, Directory
from chalicelib.services.staff import choice, query_params

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)  # long before the network kept any case here
LATEST_DAY = date(2999, 12, 31)
FORMATS = ("json", "csv", "csv-excel-de")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Excel with German regional settings (what coordinators here open the figures in) splits a CSV at
# semicolons, so a comma-separated file lands in one column, and reads "1.5" as a date (1 May).
# The byte order mark tells it the file is UTF-8, not Windows-1252.
EXCEL_DE = "csv-excel-de"


class CaseStatsSource(Protocol):
    def created_between(self, start: datetime, end: datetime) -> Iterator[metrics.CaseStats]: ...


@dataclass(frozen=True)
class MetricsResult:
    body: dict[str, Any] | str
    media_type: str
    filename: str | None = None


def _day(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if not _ISO_DAY.fullmatch(raw):  # fromisoformat also takes week dates ("2026-W48-1")
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            [FieldError(name, "invalid_date", f"{name} must be a date in the form YYYY-MM-DD, e.g. 2026-03-01.")]
        ) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        # Berlin days become UTC instants, and a default range reaches back 29 days: at the ends of
        # the calendar that arithmetic leaves what datetime can hold (it was a 500).
        message = f"{name} must be between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}."
        raise ValidationError([FieldError(name, "out_of_range", message)])
    return day


def date_range(params: Mapping[str, str], today: date) -> tuple[date, date]:
    """The requested days, defaulting to the 30 days up to today; 400 naming the faulty field."""
    first, last = _day(params, "from"), _day(params, "to")
    if last is None:
        last = max(today, first) if first is not None else today
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationError([FieldError("from", "after_to", "from must not be later than to.")])
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError([FieldError("to", "range_too_long", f"A report covers at most {MAX_DAYS} days.")])
    return first, last


@dataclass
class ReportingService:
    stats: CaseStatsSource
    directory: Directory
    clock: Clock

    def metrics(self, who: StaffIdentity, params: Mapping[str, str] | None) -> MetricsResult:
        if not who.is_coordinator:
            raise ForbiddenError("Only network coordinators can see the network's figures.")
        given = query_params(params, ("from", "to", "format"))
        output = choice(given, "format", FORMATS, "json")
        now = self.clock.now()
        first, last = date_range(given, now.astimezone(metrics.BERLIN).date())
        start, end = metrics.berlin_range(first, last)
        cases = list(self.stats.created_between(start, end))
        rules = [rule.id for rule in self.directory.routing_policy().rules]
        result = metrics.report(cases, self.directory.partners(), rules, first, last, now)
        if output != "json":
            table = to_csv(metrics.csv_rows(result), excel_de=output == EXCEL_DE)
            return MetricsResult(table, "text/csv", f"migranet-metrics-{first}-{last}.csv")
        return MetricsResult(result, "application/json")


def to_csv(rows: list[dict[str, Any]], excel_de: bool = False) -> str:
    """RFC 4180 with a header row; empty cells for null (no value to compute). For Excel with
    German settings: a byte order mark, semicolons and decimal commas."""
    out = io.StringIO()
    if excel_de:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n", delimiter=";" if excel_de else ",")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v, excel_de) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any, excel_de: bool) -> Any:
    if value is None:
        return ""
    if excel_de and isinstance(value, float):
        return repr(value).replace(".", ",")
    return value
