"""The local stage's stand-in for EventBridge: runs the app's scheduled functions on their rate.

`chalice local` serves HTTP only. `make run` starts this scheduler beside it; every
`@app.schedule` function is found in the Chalice app (its `event_sources`), so functions
added later run without changes here. Times are UTC, as for EventBridge rules.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, ScheduleExpression

from chalicelib.config import PROJECT_DIR
from chalicelib.local.stack import call_as_lambda, failure_place

log = logging.getLogger(__name__)

ACCOUNT = "123456789012"  # moto's default account id
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)
}
_WEEKDAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}  # AWS: 1 = Sunday


class UnknownScheduleError(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known


class Cron:
    """AWS cron (minutes hours day-of-month month day-of-week year) with * ? , - / and names.

    L, W and # are not supported locally; such a function is only run on demand.
    """

    _FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _WEEKDAYS), (1970, 2199, {}))

    def __init__(self, text: str) -> None:
        parts = text.split()
        if len(parts) != 6:
            raise ValueError(f"cron needs 6 fields, got {len(parts)}: {text!r}")
        self.text = text
        self.allowed = [self._parse(part, *spec) for part, spec in zip(parts, self._FIELDS, strict=True)]
        self.any_day_of_month, self.any_weekday = parts[2] in ("*", "?"), parts[4] in ("*", "?")

    @staticmethod
    def _parse(part: str, low: int, high: int, names: dict[str, int]) -> set[int]:
        values: set[int] = set()
        for item in part.upper().split(","):
            leftover = item
            for name in names:
                leftover = leftover.replace(name, "")
            if re.search(r"[LW#]", leftover):
                raise ValueError(f"cron token {item!r} (L, W, #) is not supported by the local scheduler")
            spec, _, step_text = item.partition("/")
            step = int(step_text) if step_text else 1
            if spec in ("*", "?"):
                first, last = low, high
            else:
                first_text, _, last_text = spec.partition("-")
                first = names.get(first_text) or int(first_text)
                last = (names.get(last_text) or int(last_text)) if last_text else (high if step_text else first)
            if not (low <= first <= high and low <= last <= high) or step < 1:
                raise ValueError(f"cron field {item!r} is outside {low}-{high}")
            values.update(range(first, last + 1, step))
        return values

    def matches(self, moment: datetime) -> bool:
        minute, hour, day, month, weekday, year = self.allowed
        aws_weekday = (moment.isoweekday() % 7) + 1  # Sunday → 1 … Saturday → 7
        day_ok, weekday_ok = moment.day in day, aws_weekday in weekday
        # AWS requires `?` in one of the two day fields; classic cron ORs two restricted ones.
        restricted_both = not (self.any_day_of_month or self.any_weekday)
        day_matches = (day_ok or weekday_ok) if restricted_both else (day_ok and weekday_ok)
        return (
            moment.minute in minute
            and moment.hour in hour
            and moment.month in month
            and moment.year in year
            and (day_matches)
        )


@dataclass
class ScheduledFunction:
    name: str  # the name Chalice registered (handler_map key, Lambda function name)
    function_name: str  # the Python function's name
    expression: str
    description: str
    handler: Callable[[dict[str, Any], Any], Any]
    interval: float | None = None  # seconds, for rate()
    cron: Cron | None = None
    problem: str | None = None  # why it cannot run automatically here
    next_due: float = 0.0
    last_minute: datetime | None = field(default=None, repr=False)

    @property
    def automatic(self) -> bool:
        return self.problem is None


def expression_text(expression: str | ScheduleExpression) -> str:
    return expression if isinstance(expression, str) else expression.to_string()


def discover(app: Chalice) -> list[ScheduledFunction]:
    """Every @app.schedule function of the app, with its parsed rate or cron."""
    found = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        text = expression_text(source.schedule_expression).strip()
        function = ScheduledFunction(
            name=source.name,
            function_name=source.handler_string.rsplit(".", 1)[-1],
            expression=text,
            description=source.description,
            handler=app.handler_map[source.name],
        )
        rate, cron = _RATE.match(text), _CRON.match(text)
        try:
            if rate:
                function.interval = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).lower().rstrip("s")]
            elif cron:
                function.cron = Cron(cron.group(1))
            else:
                raise ValueError(f"unknown schedule expression {text!r}")
        except ValueError as error:
            function.problem = str(error)
        found.append(function)
    return sorted(found, key=lambda f: f.name)


def find(functions: list[ScheduledFunction], name: str) -> ScheduledFunction:
    """By Python function name or Chalice name."""
    for function in functions:
        if name in (function.function_name, function.name):
            return function
    raise UnknownScheduleError(name, [f.function_name for f in functions])


def scheduled_event(function: ScheduledFunction, app_name: str, stage: str, region: str, now: datetime) -> dict:
    """What EventBridge sends a scheduled Lambda function."""
    rule = f"arn:aws:events:{region}:{ACCOUNT}:rule/{app_name}-{stage}-{function.name}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule],
        "detail": {},
    }


def invoke(app: Chalice, function: ScheduledFunction, stage: str, region: str) -> Any:
    """One tick, with the stage's (and function's) environment as Lambda would have it."""
    event = scheduled_event(function, app.app_name, stage, region, datetime.now(UTC))
    return call_as_lambda(function.handler, function.name, event, stage)


def load_app() -> Chalice:
    """The project's Chalice app from app.py (the same object `chalice local` serves)."""
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app

    return app


class Scheduler:
    """A daemon thread: rate functions run at start, then every interval; cron ones on matching minutes."""

    def __init__(
        self,
        app: Chalice,
        stage: str,
        region: str,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = 1.0,
    ) -> None:
        self.app, self.stage, self.region = app, stage, region
        self.functions = discover(app)
        self._clock, self._poll = clock, poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs: list[tuple[str, bool]] = []  # (name, succeeded), newest last; capped
        for function in self.functions:
            if not function.automatic:
                log.warning("scheduled function %s will not run automatically: %s", function.name, function.problem)

    def start(self) -> None:
        start = self._clock()
        for function in self.functions:
            function.next_due = start
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """No new ticks from now on (a running one finishes)."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Wait for a running tick to finish (bounded), then stop."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due(self._clock())
            self._stop.wait(self._poll)

    def run_due(self, now: float) -> list[str]:
        """Run every function due at `now`; returns their names (in order)."""
        ran = []
        for function in self.functions:
            if self._stop.is_set():
                break
            if function.interval is not None and now >= function.next_due:
                # After a long tick or a sleeping laptop: run once, then resume the rhythm (no burst).
                function.next_due += function.interval
                if function.next_due <= now:
                    function.next_due = now + function.interval
                ran.append(function.name)
                self._tick(function)
            elif function.cron is not None and self._cron_due(function, now):
                ran.append(function.name)
                self._tick(function)
        return ran

    @staticmethod
    def _cron_due(function: ScheduledFunction, now: float) -> bool:
        assert function.cron is not None
        minute = datetime.fromtimestamp(now, UTC).replace(second=0, microsecond=0)
        if function.last_minute is not None and minute <= function.last_minute:
            return False
        previous, function.last_minute = function.last_minute, minute
        # Also check a minute skipped by a slow tick (not a whole night of a sleeping laptop).
        candidates = [minute]
        if previous is not None and minute - previous == timedelta(minutes=2):
            candidates.insert(0, previous + timedelta(minutes=1))
        return any(function.cron.matches(m) for m in candidates)

    def _tick(self, function: ScheduledFunction) -> None:
        started = time.monotonic()
        try:
            invoke(self.app, function, self.stage, self.region)
        except Exception as error:  # noqa: BLE001 - a failing tick must not stop the scheduler
            where = failure_place(error)
            log.error("scheduled function %s failed: %s at %s", function.name, type(error).__name__, where)
            self._record(function.name, False)
            return
        log.info("scheduled function %s ran in %.2fs", function.name, time.monotonic() - started)
        self._record(function.name, True)

    def _record(self, name: str, succeeded: bool) -> None:
        self.runs.append((name, succeeded))
        del self.runs[:-1000]
