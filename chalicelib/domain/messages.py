"""SMS messages: kinds, statuses, templates per language, and segment counting like Twilio's.

No I/O beyond reading the packaged template files. Dates and times are formatted with
Babel in the applicant's language and in Europe/Berlin, where the appointments happen.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.privacy import phone_hash  # noqa: F401 - where messaging code looks for it

# Kinds (fixed names: the API and the staff view show them).
INTAKE_RECEIVED = "intake_received"
CASE_TRANSFERRED = "case_transferred"
APPOINTMENT_BOOKED = "appointment_booked"
APPOINTMENT_CHANGED = "appointment_changed"
APPOINTMENT_CANCELLED = "appointment_cancelled"
REMINDER = "reminder"
KINDS = (INTAKE_RECEIVED, CASE_TRANSFERRED, APPOINTMENT_BOOKED, APPOINTMENT_CHANGED, APPOINTMENT_CANCELLED, REMINDER)
# The text of an appointment_cancelled whose case was closed with it: no "we will contact you".
CANCELLED_BY_CLOSE = "appointment_cancelled_closed"
# Texts of a kind besides its own (same placeholders as the kind).
TEXT_VARIANTS = (CANCELLED_BY_CLOSE,)
# Replies sent as TwiML to an inbound SMS (never stored as outgoing messages).
REPLY_KEYS = (
    "reply_opted_out",
    "reply_opted_out_cancel",
    "reply_opted_in",
    "reply_help",
    "reply_coming",
    "reply_not_coming",
    "reply_no_appointment",
    "reply_no_case",
    "reply_unknown",
)
LANGUAGES = ("de", "en", "ar", "uk", "tr", "ru", "fa", "ro", "pl", "es", "fr")
DEFAULT_LANGUAGE = "de"
BERLIN = ZoneInfo("Europe/Berlin")

# Statuses. `pending` and `sending` are in the due index; the rest are final or Twilio's.
PENDING = "pending"
SENDING = "sending"
QUEUED = "queued"
SENT = "sent"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"
FAILED = "failed"
SUPPRESSED = "suppressed"
CANCELLED = "cancelled"
EXPIRED = "expired"
UNKNOWN = "unknown"  # Twilio may or may not have it: staff must check before anyone resends
RECEIVED = "received"  # an inbound SMS kept on the case
IN_INDEX = (PENDING, SENDING)
# Twilio's callbacks can arrive out of order: a status only ever moves to a higher rank.
STATUS_RANK = {
    PENDING: 0,
    SENDING: 1,
    UNKNOWN: 1,  # a late callback from Twilio settles it
    QUEUED: 2,
    SENT: 3,
    DELIVERED: 4,
    UNDELIVERED: 4,
    FAILED: 4,
    SUPPRESSED: 9,
    CANCELLED: 9,
    EXPIRED: 9,
    RECEIVED: 9,
}
# Twilio's status names → ours (its "sending" means queued at the carrier; "read" implies delivered).
TWILIO_STATUS = {
    "accepted": QUEUED,
    "scheduled": QUEUED,
    "queued": QUEUED,
    "sending": QUEUED,
    "sent": SENT,
    "delivered": DELIVERED,
    "read": DELIVERED,
    "undelivered": UNDELIVERED,
    "failed": FAILED,
}
# A message in one of these may have reached the phone.
MAYBE_SENT = (SENDING, QUEUED, SENT, DELIVERED, UNKNOWN)

OUTBOUND = "outbound"
INBOUND = "inbound"
# An erased case's SMS are deleted at Twilio too (its message log holds number and text). The request
# is a record of its own, detached from the case and holding nothing but the SID, swept like an SMS.
FORGET = "forget"
FORGET_CASE = "forget"  # the case_id of every such record: no case's listing ever shows one
NOTHING = "-"  # what a forget record holds where an SMS holds a number, its hash or its text


MAX_SEGMENTS = 2


@dataclass
class Message:
    message_id: str
    case_id: str
    kind: str
    language: str
    to: str  # E.164
    phone_hash: str
    body: str
    segments: int
    encoding: str
    status: str
    created_at: datetime
    due_at: datetime | None = None
    partner_id: str | None = None
    appointment_id: str | None = None
    send_before: datetime | None = None  # appointment messages are pointless after the start
    place: str | None = None  # the appointment's place the SMS names: a move of the place alone makes it stale
    attempts: int = 0
    needs_reconcile: bool = False
    last_attempt_at: datetime | None = None
    lease_token: str | None = None
    twilio_sid: str | None = None
    error_code: str | None = None
    reason: str | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    reply: str | None = None
    reply_at: datetime | None = None
    direction: str = OUTBOUND
    attention: str | None = None  # set on inbound records staff must act on
    # Inbound: the SID Twilio gave the applicant's SMS. FORGET: the SID whose record Twilio must delete.
    provider_sid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What staff see on a case: no phone number, no hash."""

        def stamp(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "message_id": self.message_id,
            "direction": self.direction,
            "kind": self.kind,
            "status": self.status,
            "language": self.language,
            "body": self.body,
            "segments": self.segments,
            "appointment_id": self.appointment_id,
            "due_at": stamp(self.due_at),
            "sent_at": stamp(self.sent_at),
            "created_at": stamp(self.created_at),
            "updated_at": stamp(self.updated_at),
            "attempts": self.attempts,
            "twilio_sid": self.twilio_sid,
            "error_code": self.error_code,
            "reason": self.reason,
            "reply": self.reply,
            "reply_at": stamp(self.reply_at),
            "attention": self.attention,
        }

    def with_status(self, status: str, reason: str | None = None) -> Message:
        return replace(self, status=status, reason=reason)


def message_id(*parts: str) -> str:
    """Deterministic id for one intent, so planning the same thing twice writes one record."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "migranet-sms:" + "|".join(parts)).hex


def forget_request(sid: str, now: datetime) -> Message:
    return Message(
        message_id=message_id(FORGET, sid),
        case_id=FORGET_CASE,
        kind=FORGET,
        language=NOTHING,
        to=NOTHING,
        phone_hash=NOTHING,
        body=NOTHING,
        segments=0,
        encoding=NOTHING,
        status=PENDING,
        created_at=now,
        due_at=now,
        provider_sid=sid,
    )


# --- Templates -------------------------------------------------------------------------

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "data" / "messages"


@cache
def templates(language: str) -> dict[str, list[str]]:
    """Each key maps to variants, richest first; rendering takes the first that fits in 2 segments."""
    with (TEMPLATE_DIR / f"{language}.json").open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return {key: value if isinstance(value, list) else [value] for key, value in raw.items()}


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _clean(text: str) -> str:
    # Babel uses narrow/no-break spaces (e.g. "2:30\u202fPM"): they would force UCS-2 on English.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def format_date(moment: datetime, language: str) -> str:
    from babel.dates import format_skeleton  # imported on first use: the intake path never needs it

    return _clean(format_skeleton("MMMEd", moment.astimezone(BERLIN), locale=language))


def format_clock(moment: datetime, language: str) -> str:
    from babel.dates import format_time

    return _clean(format_time(moment.astimezone(BERLIN), "short", locale=language))


@dataclass(frozen=True)
class Rendered:
    body: str
    segments: int
    encoding: str


@dataclass(frozen=True)
class Values:
    """Placeholder values; `at` is rendered as {date} and {time} in the language."""

    reference: str = ""
    partner: str = ""
    place: str = ""
    at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def for_language(self, language: str) -> dict[str, str]:
        values = {"reference": self.reference, "partner": self.partner, "place": self.place, **self.extra}
        if self.at is not None:
            values["date"] = format_date(self.at, language)
            values["time"] = format_clock(self.at, language)
        return values


def render(key: str, language: str, values: Values) -> Rendered:
    """The richest variant of template `key` that fits in 2 segments (else the shortest one).

    A variant naming the place is always preferred to one without: an applicant sent to the wrong
    site, or to the office for an online meeting, costs more than the segments a long room
    description or meeting link takes (a Teams link alone is ~200 characters, 3 UCS-2 segments)."""
    language = language_or_default(language)
    filled = values.for_language(language)
    variants = templates(language)[key]
    if values.place:
        variants = [variant for variant in variants if "{place}" in variant] or variants
    best: Rendered | None = None
    for variant in variants:
        body = variant.format(**filled)
        info = count_segments(body)
        candidate = Rendered(body, info.segments, info.encoding)
        if info.segments <= MAX_SEGMENTS:
            return candidate
        if best is None or candidate.segments < best.segments:
            best = candidate
    assert best is not None
    return best


# --- Segments, counted like Twilio ------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # sent as ESC + char: two septets each
GSM7 = "GSM-7"
UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def count_segments(text: str) -> SegmentInfo:
    """Segments as Twilio bills them: 160/153 septets or 70/67 UTF-16 units; no split inside a character."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SegmentInfo(GSM7, sum(sizes), _pack(sizes, 160, 153))
    sizes = [len(ch.encode("utf-16-le")) // 2 for ch in text]
    return SegmentInfo(UCS2, sum(sizes), _pack(sizes, 70, 67))


def _pack(sizes: list[int], single: int, multi: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:  # an escape pair or surrogate pair never straddles two segments
            segments, used = segments + 1, 0
        used += size
    return segments
