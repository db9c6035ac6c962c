"""An appointment as an iCalendar file (RFC 5545), so applicants can put it into their phone's calendar.

The UID stays the same for an appointment and SEQUENCE counts its changes (version - 1), so a file
downloaded again after a reschedule updates the event instead of adding a second one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from chalicelib.domain.appointments import Appointment

PRODUCT_ID = "-//MigraNet Munich//Intake//EN"
MAX_LINE_OCTETS = 75  # RFC 5545 3.1: longer lines are folded (CRLF + one space)
# A street with its number ("Ziemssenstraße 5", "Nymphenburger Str. 5") or a postcode: the place
# names a building of its own, not a room at the partner's address.
_OWN_ADDRESS = re.compile(
    r"(stra(ß|ss)e|str\.|weg|platz|allee|gasse|ring|damm|ufer|anger|steig)\s*\d+|\b\d{5}\b", re.IGNORECASE
)


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


def calendar_place(location: str | None, online_url: str | None, address: str) -> tuple[str | None, str]:
    """(LOCATION, the address for the description) for a place staff typed and the partner's address.

    A room number alone finds no building on a map, so the partner's address completes it (without
    repeating what staff typed of it already, the street, say). A place with a street of its own is
    another building: the partner's street and postcode would send a map app to the head office, so
    only the city is added. Online, no street address at all.
    """
    if not location:
        return online_url, "" if online_url else address
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if not parts:
        return location, ""
    if parts[0] not in location and _OWN_ADDRESS.search(location):
        city = re.sub(r"^\d{5}\s*", "", parts[-1]) if len(parts) > 1 else ""
        return (f"{location}, {city}" if city and city not in location else location), ""
    missing = [part for part in parts if part not in location]
    return ", ".join([location, *missing]), address


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
