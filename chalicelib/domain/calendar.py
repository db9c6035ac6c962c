"""An appointment as an iCalendar file (RFC 5545), so applicants can put it into their phone's calendar.

The UID stays the same for an appointment and SEQUENCE counts its changes (version - 1), so a file
downloaded again after a reschedule updates the event instead of adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.appointments import Appointment

PRODUCT_ID = "-//MigraNet Munich//Intake//EN"
MAX_LINE_OCTETS = 75  # RFC 5545 3.1: longer lines are folded (CRLF + one space)


def appointment_ics(
    appointment: Appointment, *, summary: str, description: str, location: str | None, now: datetime
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment.appointment_id}@migranet-intake",
        f"SEQUENCE:{max(appointment.version - 1, 0)}",  # RFC 5545: 0 when created; a booking is version 1
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(appointment.start)}",
        f"DTEND:{_utc(appointment.end)}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
    ]
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if appointment.online_url:
        lines.append(f"URL:{appointment.online_url}")  # a URI value: the booking schema allows no whitespace in it
    lines += ["STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """At most 75 octets a line, never splitting a UTF-8 character (names and places in Arabic, Cyrillic…)."""
    encoded = line.encode()
    parts: list[str] = []
    start, limit = 0, MAX_LINE_OCTETS
    while len(encoded) - start > limit:
        end = start + limit
        while encoded[end] & 0xC0 == 0x80:  # a continuation byte: step back to the character's start
            end -= 1
        parts.append(encoded[start:end].decode())
        start, limit = end, MAX_LINE_OCTETS - 1  # a continuation line begins with one space
    parts.append(encoded[start:].decode())
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
