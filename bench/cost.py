"""Monthly running cost from measured figures, list prices (bench/prices.py) and stated assumptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import prices

# Assumptions, until the matching part exists and can be measured (each is printed with the estimate).
API_REQUESTS_PER_APPLICANT = 7  # intake page, 2 assets, schema, partners, POST /intake, one status check
STAFF_REQUESTS_PER_CASE = 12  # queue pages, open, claim, notes, book an appointment, close
# Staff steps per case whose DynamoDB work section 2 measures (bench/inprocess.py, STAFF_STEPS);
# booking only for the cases that get an appointment.
STAFF_STEPS_PER_CASE = {"open case": 2.0, "claim": 1.0, "book appointment": None, "close": 1.0}
QUEUE_PAGE_VIEWS_PER_CASE = 4  # a queue page lists 50 cases, and staff reload it through the day
QUEUE_PAGE_RRU = 9.5  # a full page of 50 items of ~1.5 KB, eventually consistent (section 2 counts a short one)
# Used only when sections 2 and 4 did not run: the staff work per case and the capacity per SMS sent,
# as those sections measured them on 2026-11-26 12:14 UTC.
STAFF_WRU_PER_CASE = 26.7
STAFF_RRU_PER_CASE = 46.6
WRU_PER_SMS = 3.0
RRU_PER_SMS = 3.1
SMS_CONSENT_SHARE = 0.8  # applicants who tick "SMS"
BOOKED_SHARE = 0.7  # cases that get an appointment (confirmation + reminders)
REMINDERS_PER_APPOINTMENT = 2  # the seeded partners remind 24 h and 2 h before
STATUS_CALLBACKS_PER_SMS = 2  # Twilio calls /sms/status for "sent" and "delivered"
INBOUND_SMS_PER_APPLICANT = 0.5  # replies such as "JA", "STOP"
# Scheduled ticks an hour (app.py): notify_partners 60, send_due_messages 12, settle_past_appointments 12,
# mark_overdue_cases 4, enforce_retention 1.
SWEEPS_PER_MONTH = 30 * 24 * (60 + 12 + 12 + 4 + 1)
# The intake's request sends case.routed and clears the case's outbox marker (in section 2's intake
# figures). announce_routed_cases (the cases table's stream) then reads whether each marker is still
# there and sends only what the request could not: section 2 measures that read ("per intake,
# stream"); these are its fallbacks. Reading the stream is free for Lambda triggers; the function
# runs about once per intake at this traffic. notify_partners only sends what SQS refused (none here).
NOTICE_WRU_PER_CASE = 0.0  # as section 2 measured it on 2026-11-27
NOTICE_RRU_PER_CASE = 0.0  # the batch holds the request's clear too: nothing to read
STREAM_INVOCATIONS_PER_CASE = 1.0
# send_due_messages plans intake_received from the case's outbox marker: it reads the case (1 RRU),
# and clears the marker (1 WRU, plus 1 for the confirm-index entry, also written with the case).
CONFIRM_WRU_PER_SMS_CASE = 3.0
CONFIRM_RRU_PER_SMS_CASE = 1.0
SWEEP_SECONDS = 0.2
LAMBDA_MEMORY_GB = 0.5  # .chalice/config.json prod: lambda_memory_size 512
LOG_BYTES_PER_REQUEST = 1_000
SQS_REQUESTS_PER_CASE = 3  # send, receive, delete
FALLBACK_SEGMENTS_PER_APPLICANT = 6.0  # used only when the SMS templates cannot be rendered


@dataclass(frozen=True)
class Segments:
    per_applicant: float
    by_language: dict[str, int]
    source: str


def sms_segments() -> Segments:
    """Segments one applicant receives (all languages averaged): received + booked + reminders."""
    try:
        from chalicelib.domain.messages import Values, render, templates

        at = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
        values = Values(reference="K7P3-Q9XA", partner="Servicestelle (LH München)", place="Franziskanerstr. 8", at=at)
        by_language = {}
        for language in ("de", "en", "ar", "uk", "tr", "ru", "fa", "ro", "pl", "es", "fr"):
            if not templates(language):
                continue
            received = render("intake_received", language, values).segments
            booked = render("appointment_booked", language, values).segments
            reminder = render("reminder", language, values).segments
            by_language[language] = received + booked + REMINDERS_PER_APPOINTMENT * reminder
        journeys = []
        for language in by_language:
            received = render("intake_received", language, values).segments
            rest = by_language[language] - received
            journeys.append(SMS_CONSENT_SHARE * (received + BOOKED_SHARE * rest))
        return Segments(sum(journeys) / len(journeys), by_language, "rendered from chalicelib/data/messages")
    except Exception as error:  # noqa: BLE001 - the estimate must print even without templates
        return Segments(FALLBACK_SEGMENTS_PER_APPLICANT, {}, f"assumed (templates unavailable: {error})")


@dataclass(frozen=True)
class Measured:
    """DynamoDB capacity units per operation, as sections 2 and 4 counted them (None: not run)."""

    intake: dict[str, Any]
    staff: dict[str, dict[str, Any]] | None = None  # per STAFF_STEPS name: {"wru", "rru", ...}
    reminder: dict[str, Any] | None = None  # a sweep row: wru_per_reminder, rru_per_reminder
    stream: dict[str, Any] | None = None  # announce_routed_cases' work per intake: {"wru", ...}

    def notice_wru(self) -> float:
        return self.stream["wru"] if self.stream else NOTICE_WRU_PER_CASE

    def notice_rru(self) -> float:
        return self.stream["rru"] if self.stream else NOTICE_RRU_PER_CASE

    def staff_units(self) -> tuple[float, float, str]:
        """(WRU, RRU, where from) of one case's staff work."""
        if not self.staff:
            return STAFF_WRU_PER_CASE, STAFF_RRU_PER_CASE, "assumed"
        wru, rru = 0.0, QUEUE_PAGE_VIEWS_PER_CASE * QUEUE_PAGE_RRU
        for step, times in STAFF_STEPS_PER_CASE.items():
            share = BOOKED_SHARE if times is None else times
            wru += share * self.staff[step]["wru"]
            rru += share * self.staff[step]["rru"]
        return wru, rru, "measured"

    def sms_units(self) -> tuple[float, float, str]:
        if not self.reminder:
            return WRU_PER_SMS, RRU_PER_SMS, "assumed"
        return self.reminder["wru_per_reminder"], self.reminder["rru_per_reminder"], "measured"


def monthly(applicants: int, intake_seconds: float, measured: Measured, segments: Segments) -> dict[str, float]:
    intake = measured.intake
    staff_wru, staff_rru, _ = measured.staff_units()
    sms_wru, sms_rru, _ = measured.sms_units()
    sms = segments.per_applicant * applicants
    sms_messages = applicants * SMS_CONSENT_SHARE * (1 + BOOKED_SHARE * (1 + REMINDERS_PER_APPOINTMENT))
    api = applicants * (API_REQUESTS_PER_APPLICANT + STAFF_REQUESTS_PER_CASE + INBOUND_SMS_PER_APPLICANT)
    api += sms_messages * STATUS_CALLBACKS_PER_SMS
    invocations = api + SWEEPS_PER_MONTH + applicants * STREAM_INVOCATIONS_PER_CASE
    gb_seconds = (api + applicants * STREAM_INVOCATIONS_PER_CASE) * intake_seconds * LAMBDA_MEMORY_GB
    gb_seconds += SWEEPS_PER_MONTH * SWEEP_SECONDS * LAMBDA_MEMORY_GB
    confirmed = applicants * SMS_CONSENT_SHARE
    wru = applicants * (intake["wru"] + staff_wru + measured.notice_wru()) + sms_messages * sms_wru
    wru += confirmed * CONFIRM_WRU_PER_SMS_CASE
    rru = applicants * (intake["rru"] + staff_rru + measured.notice_rru()) + sms_messages * sms_rru
    rru += SWEEPS_PER_MONTH * 2
    rru += confirmed * CONFIRM_RRU_PER_SMS_CASE
    costs = {
        "Lambda": gb_seconds * prices.LAMBDA_GB_SECOND + invocations / 1e6 * prices.LAMBDA_PER_MILLION_REQUESTS,
        "API Gateway": api / 1e6 * prices.API_GATEWAY_REST_PER_MILLION,
        "DynamoDB": wru / 1e6 * prices.DYNAMODB_PER_MILLION_WRU + rru / 1e6 * prices.DYNAMODB_PER_MILLION_RRU,
        "DynamoDB storage": applicants * 12 * 10_000 / 1e9 * prices.DYNAMODB_STORAGE_GB_MONTH,  # a year of 10 KB cases
        "SQS": applicants * SQS_REQUESTS_PER_CASE / 1e6 * prices.SQS_PER_MILLION_REQUESTS,
        "CloudWatch Logs": invocations * LOG_BYTES_PER_REQUEST / 1e9 * prices.CLOUDWATCH_LOGS_PER_GB,
        "Twilio SMS": sms * prices.TWILIO_SMS_GERMANY_PER_SEGMENT,
    }
    return costs


def report(latency: dict[str, float], measured: Measured) -> list[str]:
    segments = sms_segments()
    seconds = latency["median_ms"] / 1000
    intake = measured.intake
    staff_wru, staff_rru, staff_source = measured.staff_units()
    sms_wru, sms_rru, sms_source = measured.sms_units()
    lines = [
        f"prices: AWS eu-central-1 on-demand list prices as of {prices.PRICES_AS_OF}; Twilio SMS to Germany"
        f" ${prices.TWILIO_SMS_GERMANY_PER_SEGMENT}/segment as of {prices.TWILIO_PRICE_AS_OF}; free tiers ignored",
        f"measured: {intake['wru']:g} WRU + {intake['rru']:g} RRU per intake (its notice sent and cleared),"
        f" {measured.notice_wru():g} WRU + {measured.notice_rru():g} RRU for the stream's check of it;"
        f" {latency['median_ms']:.0f} ms Lambda time per API request and per"
        " stream batch (the intake median against moto, applied to every invocation: an upper bound)",
        f"staff work per case ({staff_source}): {staff_wru:.1f} WRU + {staff_rru:.1f} RRU (opened twice, claimed,"
        f" {BOOKED_SHARE:.0%} booked, closed; {QUEUE_PAGE_VIEWS_PER_CASE} queue page views of {QUEUE_PAGE_RRU:g} RRU);"
        f" per SMS sent ({sms_source}): {sms_wru:.1f} WRU + {sms_rru:.1f} RRU",
        f"SMS: {segments.per_applicant:.2f} segments per applicant ({segments.source}; {SMS_CONSENT_SHARE:.0%} opt in,"
        f" {BOOKED_SHARE:.0%} book an appointment, {REMINDERS_PER_APPOINTMENT} reminders)",
    ]
    if segments.by_language:
        lines.append(
            "segments for received + booked + reminders, by language: "
            + ", ".join(f"{k} {v}" for k, v in segments.by_language.items())
        )
    lines.append(
        f"assumed: {API_REQUESTS_PER_APPLICANT} applicant + {STAFF_REQUESTS_PER_CASE} staff API requests per case,"
        f" {STATUS_CALLBACKS_PER_SMS} Twilio callbacks per SMS, 89 scheduled ticks an hour; see bench/cost.py"
    )
    for applicants in (1_000, 20_000):
        costs = monthly(applicants, seconds, measured, segments)
        aws = sum(v for k, v in costs.items() if k != "Twilio SMS")
        detail = ", ".join(f"{k} {v:.2f}" for k, v in costs.items())
        lines.append(
            f"{applicants:>6} applicants/month: AWS ${aws:,.2f} + Twilio ${costs['Twilio SMS']:,.2f}"
            f" = ${aws + costs['Twilio SMS']:,.2f}   ({detail})"
        )
    return lines
