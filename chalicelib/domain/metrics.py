"""Coordinator metrics from the anonymous facts kept on each case. No I/O.

What the figures mean (per partner and network-wide, for a range of Europe/Berlin dates):
- The figures describe the cases *received* in the range (a cohort): a case received on
  31 March and claimed on 2 April counts in March's time to claim. So a month's figures
  settle as its cases move on, and no case is counted twice across consecutive ranges.
- `intakes` and `routed_per_rule` belong to the partner the intake was first routed to (how
  routing performs); `time_to_claim_hours` to the partner whose staff claimed it first (a case
  claimed, then transferred, does not make the receiving partner look quick); every other figure
  to the partner holding the case now (who works it).
- `time_to_claim_hours`: intake → first claim. `time_to_first_appointment_hours`: intake →
  the earliest start any appointment of the case was booked (or moved) to; a later
  cancellation does not undo it. Cases without that event are left out (`count`).
- `overdue_cases`: cases that were ever flagged past their partner's SLA.
- `appointments` (booked, not cancelled), `attended`, `no_shows`; `no_show_rate` =
  no_shows / (attended + no_shows), null when no attendance was recorded.
- `sms`: messages of these cases handed to Twilio (`sent`), confirmed `delivered`, and
  `failed` (refused, undeliverable or given up); `opt_outs`: cases whose applicant withdrew
  SMS consent (STOP), even if they opted in again later.

Percentiles use linear interpolation between closest ranks (the method of numpy's default,
Excel's PERCENTILE.INC and Python's `statistics.quantiles(method="inclusive")`): for sorted
values x[0..n-1], the p-th percentile is at position (n-1)·p; the median is p = 0.5, so an
even count gives the mean of the two middle values. Rounded to 2 decimals; null for no values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
NETWORK = "network"


@dataclass(frozen=True)
class CaseStats:
    """The statistics of one case: nothing that identifies the applicant."""

    case_id: str
    created_at: datetime
    partner: str
    routed_partner: str
    rule: str
    claimed_at: datetime | None = None
    claimed_partner: str | None = None  # None for cases claimed before it was kept: the holder's
    first_appointment_at: datetime | None = None
    appointments: int = 0
    attended: int = 0
    no_shows: int = 0
    overdue: bool = False
    closed_at: datetime | None = None
    outcome: str | None = None
    sms_sent: int = 0
    sms_delivered: int = 0
    sms_failed: int = 0
    opted_out: bool = False


def berlin_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in Berlin, as aware datetimes (DST-safe)."""
    start = datetime.combine(first, time.min, tzinfo=BERLIN)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=BERLIN)
    return start, end


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (see the module docstring)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def _durations(pairs: Iterable[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    hours = [(end - start).total_seconds() / 3600 for start, end in pairs if end is not None]
    return {"median": percentile(hours, 0.5), "p90": percentile(hours, 0.9), "count": len(hours)}


def figures(
    cases: list[CaseStats],
    routed_here: list[CaseStats],
    rules: Iterable[str],
    claimed_here: list[CaseStats] | None = None,
) -> dict[str, Any]:
    """F for one scope: `cases` now held there, `routed_here` first routed there, `claimed_here`
    first claimed there (default: `cases`)."""
    per_rule = dict.fromkeys(sorted(rules), 0)
    for case in routed_here:
        per_rule[case.rule] = per_rule.get(case.rule, 0) + 1
    attended = sum(c.attended for c in cases)
    no_shows = sum(c.no_shows for c in cases)
    recorded = attended + no_shows
    return {
        "intakes": len(routed_here),
        "routed_per_rule": per_rule,
        "time_to_claim_hours": _durations(
            (c.created_at, c.claimed_at) for c in (cases if claimed_here is None else claimed_here)
        ),
        "time_to_first_appointment_hours": _durations((c.created_at, c.first_appointment_at) for c in cases),
        "overdue_cases": sum(1 for c in cases if c.overdue),
        "appointments": sum(c.appointments for c in cases),
        "attended": attended,
        "no_shows": no_shows,
        "no_show_rate": round(no_shows / recorded, 4) if recorded else None,
        "sms": {
            "sent": sum(c.sms_sent for c in cases),
            "delivered": sum(c.sms_delivered for c in cases),
            "failed": sum(c.sms_failed for c in cases),
        },
        "opt_outs": sum(1 for c in cases if c.opted_out),
    }


def report(
    cases: list[CaseStats], partners: Iterable[str], rules: Iterable[str], first: date, last: date, now: datetime
) -> dict[str, Any]:
    """The whole answer of GET /coordinator/metrics; every partner appears, with zeros if idle."""
    rule_ids = sorted(set(rules))
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "generated_at": now.astimezone(BERLIN).isoformat(timespec="seconds"),
        "network": figures(cases, cases, rule_ids),
        "partners": {
            partner: figures(
                [c for c in cases if c.partner == partner],
                [c for c in cases if c.routed_partner == partner],
                rule_ids,
                [c for c in cases if (c.claimed_partner or c.partner) == partner],
            )
            for partner in sorted(partners)
        },
    }


def flat_row(scope: str, figure: dict[str, Any], rules: list[str]) -> dict[str, Any]:
    """One CSV row: nested figures as flat columns (routed_rule_<id>, time_to_claim_hours_median, …)."""
    row: dict[str, Any] = {"scope": scope, "intakes": figure["intakes"]}
    for rule in rules:
        row[f"routed_rule_{rule}"] = figure["routed_per_rule"].get(rule, 0)
    for name in ("time_to_claim_hours", "time_to_first_appointment_hours"):
        for part in ("median", "p90", "count"):
            row[f"{name}_{part}"] = figure[name][part]
    for name in ("overdue_cases", "appointments", "attended", "no_shows", "no_show_rate"):
        row[name] = figure[name]
    for part in ("sent", "delivered", "failed"):
        row[f"sms_{part}"] = figure["sms"][part]
    row["opt_outs"] = figure["opt_outs"]
    return row


def csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per partner, then the network row; each with the range it covers."""
    rules = sorted(result["network"]["routed_per_rule"])
    scopes = [*result["partners"].items(), (NETWORK, result["network"])]
    return [{"from": result["from"], "to": result["to"], **flat_row(s, f, rules)} for s, f in scopes]
