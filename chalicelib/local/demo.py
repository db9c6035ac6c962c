"""`make demo`: fill the running local stack with sample applicants, through its HTTP API only.

Intakes carry Idempotency-Keys derived from the seed, and the case ids are remembered in the
stack's data folder, so a second run adds nothing. Staff actions (claims, a transfer, two closed
cases, appointments) use tokens signed with the local key, like `staff-token` prints; a second
run finds them done (the API answers 409/404) and leaves them as they are.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from chalicelib.adapters.tokens import issue_local_token
from chalicelib.config import Settings
from chalicelib.local.demo_data import STAFF_NAMES, Applicant, applicants

BERLIN = ZoneInfo("Europe/Berlin")
STATE_FILE = "demo.json"
TIMEOUT_SECONDS = 15
RETRIES = 4
TRANSFER_REASON = "Kein Anerkennungsverfahren nötig; die Person wünscht Orientierung und einen Deutschkurs."


class StackNotRunningError(Exception):
    """The API does not answer: `make run` is not running (or listens elsewhere)."""


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Api:
    """A small JSON client for the local API (urllib: nothing to install, loopback only)."""

    base_url: str

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None, key: str | None = None
    ) -> Answer:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        for attempt in range(RETRIES):
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                    return Answer(response.status, _json(response.read()), dict(response.headers))
            except urllib.error.HTTPError as error:
                answer = Answer(error.code, _json(error.read()), dict(error.headers))
                if error.code != 503 or attempt == RETRIES - 1:
                    return answer
                time.sleep(min(5.0, float(answer.headers.get("Retry-After") or 1)))
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                raise StackNotRunningError(f"the local API does not answer at {self.base_url} ({error})") from error
        raise AssertionError("unreachable")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        return {"error": raw.decode("utf-8", "replace")}


@dataclass
class DemoCase:
    index: int
    case_id: str
    reference: str
    partner: str


@dataclass
class DemoReport:
    created: int = 0
    already_there: int = 0
    per_partner: Counter[str] = field(default_factory=Counter)
    claimed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    transferred: list[str] = field(default_factory=list)
    appointments: list[str] = field(default_factory=list)


def next_weekday(today: date, days_ahead: int) -> date:
    """`days_ahead` working days after `today` (Monday to Friday)."""
    day = today
    while days_ahead > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days_ahead -= 1
    return day


class Demo:
    def __init__(self, api: Api, settings: Settings, state_dir: Path, now: datetime | None = None) -> None:
        self.api = api
        self.settings = settings
        self.state_path = state_dir / STATE_FILE
        self.now = now or datetime.now(BERLIN)
        self.tokens = {
            partner: issue_local_token(settings, partner=partner, name=name, sub=staff_sub(partner))
            for partner, name in STAFF_NAMES.items()
        }
        self.coordinator = issue_local_token(
            settings, partner=None, role="coordinator", name="Netzwerk-Koordination", sub="demo-coordinator"
        )
        self.report = DemoReport()

    # --- applicants ------------------------------------------------------------------------

    def _remembered(self) -> dict[str, dict[str, Any]]:
        """Cases of an earlier run, if that run's stack is still the one answering."""
        try:
            known: dict[str, dict[str, Any]] = json.loads(self.state_path.read_text(encoding="utf-8"))["cases"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        sample = next(iter(known.values()), None)
        if sample is None:
            return {}
        answer = self.api.call("GET", f"/staff/cases/{sample['case_id']}", token=self.coordinator)
        return known if answer.status == 200 else {}

    def submit(self, people: list[Applicant]) -> list[DemoCase]:
        self.api.call("GET", "/partners")  # raises StackNotRunningError before anything else
        remembered = self._remembered()
        cases = []
        for index, person in enumerate(people):
            stored = remembered.get(person.key)
            if stored is not None:
                self.report.already_there += 1
                cases.append(DemoCase(index, stored["case_id"], stored["reference"], stored["partner"]))
                continue
            answer = self.api.call("POST", "/intake", person.intake, key=person.key)
            if answer.status not in (200, 201):
                raise RuntimeError(f"intake {index} refused ({answer.status}): {answer.body}")
            replayed = answer.headers.get("Idempotent-Replayed") == "true"
            self.report.already_there += replayed
            self.report.created += not replayed
            body = answer.body
            cases.append(DemoCase(index, body["case_id"], body["reference"], body["partner"]))
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            p.key: {"case_id": c.case_id, "reference": c.reference, "partner": c.partner}
            for p, c in zip(people, cases, strict=True)
        }
        self.state_path.write_text(json.dumps({"cases": state}, indent=1) + "\n", encoding="utf-8")
        return cases

    # --- staff actions ---------------------------------------------------------------------

    def _act(self, partner: str, method: str, path: str, body: Any = None) -> Answer:
        answer = self.api.call(method, path, body, token=self.tokens[partner])
        if answer.status >= 500:
            raise RuntimeError(f"{method} {path} failed ({answer.status}): {answer.body}")
        return answer

    def claim(self, case: DemoCase) -> bool:
        answer = self._act(case.partner, "POST", f"/staff/cases/{case.case_id}/claim")
        if answer.status == 200:
            self.report.claimed.append(case.reference)
        return answer.status == 200

    def close(self, case: DemoCase, outcome: str, note: str) -> None:
        answer = self._act(
            case.partner, "POST", f"/staff/cases/{case.case_id}/close", {"outcome": outcome, "note": note}
        )
        if answer.status in (200, 409):  # 409: closed by an earlier run
            self.report.closed.append(case.reference)

    def transfer(self, case: DemoCase, to: str) -> None:
        answer = self._act(
            case.partner, "POST", f"/staff/cases/{case.case_id}/transfer", {"partner": to, "reason": TRANSFER_REASON}
        )
        if answer.status in (200, 404):  # 404: an earlier run moved it out of this partner's sight
            self.report.transferred.append(case.reference)

    def book(self, case: DemoCase, day: date, clock: str, place: dict[str, str]) -> None:
        path = f"/staff/cases/{case.case_id}/appointments"
        listed = self._act(case.partner, "GET", path)
        if listed.status == 200 and any(a.get("status") == "booked" for a in listed.body.get("appointments", [])):
            self.report.appointments.append(case.reference)
            return
        body = {"start": f"{day.isoformat()}T{clock}", "duration_minutes": 45, **place}
        if self._act(case.partner, "POST", path, body).status in (200, 201):
            self.report.appointments.append(case.reference)

    def work(self, cases: list[DemoCase]) -> None:
        """A few claimed per partner, one transferred, two closed, two with appointments."""
        by_partner: dict[str, list[DemoCase]] = {}
        for case in cases:
            by_partner.setdefault(case.partner, []).append(case)
            self.report.per_partner[case.partner] += 1
        for partner, own in sorted(by_partner.items()):
            if partner not in self.tokens:
                continue
            for case in own[:2]:
                self.claim(case)
        today = self.now.astimezone(BERLIN).date()
        clinic = by_partner.get("lmu-klinikum", [])
        engineers = by_partner.get("akademie-ingenieure", [])
        recognition = by_partner.get("servicestelle-muenchen", [])
        general = by_partner.get("via-bayern", [])
        if len(clinic) > 1:
            self.book(clinic[1], next_weekday(today, 1), "10:00", {"location": "Ziemssenstraße 5, Raum E.12"})
        if engineers:
            online = {"online_url": "https://meet.example.org/akademie-beratung"}
            self.book(engineers[0], next_weekday(today, 2), "14:30", online)
        if clinic:
            self.close(clinic[0], "counselled", "Anerkennungsantrag besprochen; Unterlagen vollständig.")
        if general:
            self.close(general[0], "referred_elsewhere", "An den Migrationsdienst der Caritas verwiesen.")
        if len(recognition) > 2:
            self.transfer(recognition[2], "via-bayern")


def staff_sub(partner: str) -> str:
    return f"demo-{partner}"


def run(api_url: str, settings: Settings, state_dir: Path, out: TextIO, seed: str, count: int) -> DemoReport:
    demo = Demo(Api(api_url.rstrip("/")), settings, state_dir)
    people = applicants(seed, count)
    cases = demo.submit(people)
    demo.work(cases)
    _print_report(demo.report, api_url, out)
    return demo.report


def _print_report(report: DemoReport, api_url: str, out: TextIO) -> None:
    total = report.created + report.already_there
    print(f"{total} sample applicants: {report.created} new, {report.already_there} already there", file=out)
    for partner, number in sorted(report.per_partner.items()):
        print(f"  {partner:<26} {number:>3} cases", file=out)
    print(
        f"  claimed {len(report.claimed)}, closed {len(report.closed)}, transferred {len(report.transferred)}, "
        f"with appointments {len(report.appointments)}",
        file=out,
    )
    name = STAFF_NAMES["lmu-klinikum"]
    print(f"\nOpen {api_url.rstrip('/')}/staff and paste a token, e.g. the clinic's staff member:", file=out)
    command = "python -m chalicelib.cli staff-token --partner lmu-klinikum"
    print(f'  {command} --name "{name}" --sub {staff_sub("lmu-klinikum")}', file=out)
    print("  (add --role coordinator for the cross-partner view and the metrics)", file=out)
