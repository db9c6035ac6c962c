"""The iCalendar file of an appointment (RFC 5545): what a phone's calendar needs to import it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.domain.appointments import BOOKED, Appointment
from chalicelib.domain.calendar import appointment_ics, calendar_place, escape_text, fold


def appointment(**changes: object) -> Appointment:
    fields: dict[str, object] = {
        "appointment_id": "a1b2",
        "case_id": "c1",
        "partner": "lmu-klinikum",
        "staff_id": "s1",
        "staff_name": "Anna Berger",
        "start": datetime(2026, 3, 30, 7, 30, tzinfo=UTC),
        "duration_minutes": 45,
        "location": "Raum 2.14",
        "online_url": None,
        "note": "private note",
        "status": BOOKED,
        "created_at": "2026-03-01T09:00:00+00:00",
        "updated_at": "2026-03-01T09:00:00+00:00",
        "booked_by": "s1",
        "version": 3,
    }
    fields.update(changes)
    return Appointment(**fields)  # type: ignore[arg-type]


def unfolded(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_one_event_with_utc_times_a_stable_uid_and_its_changes_as_sequence() -> None:
    ics = appointment_ics(
        appointment(),
        summary="Beratungstermin: LMU Klinikum",
        description="LMU Klinikum\nIhre Referenznummer: ABCD-EFGH",
        location="Raum 2.14, Marchioninistraße 15",
        now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
    )
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    lines = unfolded(ics)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-2:] == ["END:VCALENDAR", ""]
    assert "UID:a1b2@migranet-intake" in lines and "SEQUENCE:2" in lines  # version 3: booked, then changed twice
    assert "DTSTART:20260330T073000Z" in lines and "DTEND:20260330T081500Z" in lines
    assert "DTSTAMP:20260302T080000Z" in lines
    assert "LOCATION:Raum 2.14\\, Marchioninistraße 15" in lines
    assert "DESCRIPTION:LMU Klinikum\\nIhre Referenznummer: ABCD-EFGH" in lines
    assert not any(line.startswith("URL:") for line in lines)
    assert "private note" not in ics and "Anna" not in ics


def test_an_online_appointment_carries_its_link() -> None:
    ics = appointment_ics(
        appointment(location=None, online_url="https://meet.example/abc?x=1;y=2"),
        summary="s",
        description="d",
        location="https://meet.example/abc?x=1;y=2",
        now=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert "URL:https://meet.example/abc?x=1;y=2" in unfolded(ics)
    assert "LOCATION:https://meet.example/abc?x=1\\;y=2" in unfolded(ics)


def test_text_values_are_escaped() -> None:
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    line = "SUMMARY:" + "موعد استشارة في مستشفى جامعة ميونخ " * 5
    folded = fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 2
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert folded.replace("\r\n ", "") == line  # unfolding gives the line back, every character whole
    assert fold("SUMMARY:short") == "SUMMARY:short"


def test_an_sms_stands_while_its_time_and_place_do() -> None:
    booked, start = appointment(), datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
    assert booked.is_booked_at(start, "Raum 2.14")
    assert not booked.is_booked_at(start, "Raum 4.02")  # moved to another room
    assert not booked.is_booked_at(datetime(2026, 3, 31, 7, 30, tzinfo=UTC), "Raum 2.14")  # another time
    assert booked.is_booked_at(start, None)  # planned before SMS recorded their place: the time decides
    online = appointment(location=None, online_url="https://meet.example/abc")
    assert not online.is_booked_at(start, "Raum 2.14")  # now online instead
    assert appointment(location=None).is_booked_at(start, "Partner address 1")  # named the partner's address
    assert not replace(booked, status="cancelled").is_booked_at(start, "Raum 2.14")


PARTNER_ADDRESS = "Marchioninistraße 15, 81377 München"


@pytest.mark.parametrize(
    ("typed", "location", "described"),
    [
        ("Raum 2.14", "Raum 2.14, Marchioninistraße 15, 81377 München", PARTNER_ADDRESS),
        ("Marchioninistraße 15, Raum 2.14", "Marchioninistraße 15, Raum 2.14, 81377 München", PARTNER_ADDRESS),
        ("Ringvorlesung, Raum 3", "Ringvorlesung, Raum 3, Marchioninistraße 15, 81377 München", PARTNER_ADDRESS),
        ("Ziemssenstraße 5, Eingang B", "Ziemssenstraße 5, Eingang B, München", ""),
        ("Nymphenburger Str. 5, Zimmer 204", "Nymphenburger Str. 5, Zimmer 204, München", ""),
        ("Haus 2, 80336 München", "Haus 2, 80336 München", ""),
    ],
)
def test_a_room_gets_the_partners_address_and_another_building_only_the_city(
    typed: str, location: str, described: str
) -> None:
    assert calendar_place(typed, None, PARTNER_ADDRESS) == (location, described)


def test_online_the_calendar_names_the_link_and_no_street() -> None:
    assert calendar_place(None, "https://meet.example/abc", PARTNER_ADDRESS) == ("https://meet.example/abc", "")
