"""The applicant's status (GET /applicant/{case_id}) lists the appointments still to come: when and where."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import FrozenClock
from tests.functional.appointment_desk import Desk
from tests.functional.test_applicant_rights import LINK
from tests.reliability.faults import dynamodb_faults


@pytest.fixture
def held(anna: Desk, submit_case: Callable[..., dict[str, Any]]) -> tuple[str, str]:
    """A case Anna holds, and the applicant's status-link secret."""
    created = submit_case("health")
    status, body = anna.post(f"/staff/cases/{created['case_id']}/claim")
    assert status == 200, body
    match = LINK.search(created["status_link"])
    assert match
    return created["case_id"], match["secret"]


def status_of(client: Client, case_id: str, secret: str) -> dict[str, Any]:
    response = client.http.get(f"/applicant/{case_id}", headers={"X-Status-Secret": secret})
    assert response.status_code == 200, response.body
    return response.json_body


def test_a_booked_appointment_shows_when_and_where_without_the_staff_note(
    anna: Desk, client: Client, held: tuple[str, str]
) -> None:
    case_id, secret = held
    assert status_of(client, case_id, secret)["appointments"] == []
    status, booked = anna.book(case_id, "2025-03-12T10:00", 45, note="Bring the Syrian diploma", location="Raum 2.14")
    assert status == 201, booked
    found = status_of(client, case_id, secret)
    assert found["status"] == "scheduled"
    assert found["appointments"] == [
        {
            "appointment_id": booked["appointment"]["appointment_id"],
            "start": "2025-03-12T09:00:00.000000+00:00",
            "end": "2025-03-12T09:45:00.000000+00:00",
            "duration_minutes": 45,
            "mode": "in_person",
            "location": "Raum 2.14",
            "online_url": None,
        }
    ]
    assert "Syrian diploma" not in str(found) and "anna" not in str(found).lower()


def test_soonest_first_and_online_ones_carry_their_link(anna: Desk, client: Client, held: tuple[str, str]) -> None:
    case_id, secret = held
    assert anna.book(case_id, "2025-03-14T11:00", 30, online_url="https://meet.example/abc")[0] == 201
    assert anna.book(case_id, "2025-03-12T10:00", 30)[0] == 201
    listed = status_of(client, case_id, secret)["appointments"]
    assert [a["start"] for a in listed] == ["2025-03-12T09:00:00.000000+00:00", "2025-03-14T10:00:00.000000+00:00"]
    assert (listed[1]["mode"], listed[1]["online_url"], listed[1]["location"]) == (
        "online",
        "https://meet.example/abc",
        None,
    )


def test_cancelled_ones_are_listed_apart_until_their_time_and_booked_ones_until_they_end(
    anna: Desk, client: Client, frozen_clock: FrozenClock, held: tuple[str, str]
) -> None:
    case_id, secret = held
    _, soon = anna.book(case_id, "2025-03-10T10:00", 30)
    _, later = anna.book(case_id, "2025-03-20T10:00", 30, note="Applicant asked to postpone")
    _, early = anna.book(case_id, "2025-03-08T10:00", 30)
    for booked in (later, early):
        status, _ = anna.delete(f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}")
        assert status == 200
    found = status_of(client, case_id, secret)
    assert [a["appointment_id"] for a in found["appointments"]] == [soon["appointment"]["appointment_id"]]
    # An applicant without SMS learns of a cancellation only here: it stays, marked, until its time.
    assert [(a["appointment_id"], a["start"], a["mode"]) for a in found["cancelled_appointments"]] == [
        (early["appointment"]["appointment_id"], "2025-03-08T09:00:00.000000+00:00", "in_person"),
        (later["appointment"]["appointment_id"], "2025-03-20T09:00:00.000000+00:00", "in_person"),
    ]
    assert all(a["cancelled_at"] for a in found["cancelled_appointments"])
    assert "postpone" not in str(found) and "Raum" not in str(found["cancelled_appointments"])

    with dynamodb_faults() as calls:  # no faults: it only records the calls
        status_of(client, case_id, secret)
    assert calls.calls.count("Query") == 1  # booked and cancelled ones come from one read

    frozen_clock.advance(days=3, minutes=1)  # 10 March, 10:01: the 8 March one has passed, the 10th begun
    found = status_of(client, case_id, secret)
    # Someone running late still finds the room (or the meeting link) and the calendar file until it ends.
    assert [a["appointment_id"] for a in found["appointments"]] == [soon["appointment"]["appointment_id"]]
    assert [a["appointment_id"] for a in found["cancelled_appointments"]] == [later["appointment"]["appointment_id"]]
    assert calendar(client, case_id, secret, soon["appointment"]["appointment_id"]).status_code == 200
    frozen_clock.advance(minutes=30)  # 10:31: over
    assert status_of(client, case_id, secret)["appointments"] == []
    assert calendar(client, case_id, secret, soon["appointment"]["appointment_id"]).status_code == 404


def calendar(client: Client, case_id: str, secret: str, appointment_id: str) -> Any:
    path = f"/applicant/{case_id}/appointments/{appointment_id}/calendar"
    return client.http.get(path, headers={"X-Status-Secret": secret})


def test_an_appointment_downloads_as_a_calendar_file_in_the_case_language(
    anna: Desk, client: Client, held: tuple[str, str]
) -> None:
    from chalicelib.pages.labels import labels

    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-12T10:00", 45, note="Bring the diploma", location="Raum 2.14")
    response = calendar(client, case_id, secret, booked["appointment"]["appointment_id"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="migranet-2025-03-12.ics"'
    lines = response.body.decode().replace("\r\n ", "").split("\r\n")
    texts = labels(status_of(client, case_id, secret)["language"])["status_page"]
    assert f"SUMMARY:{texts['calendar_summary']}: LMU Klinikum München" in lines
    assert "DTSTART:20250312T090000Z" in lines and "DTEND:20250312T094500Z" in lines
    assert "LOCATION:Raum 2.14\\, Marchioninistraße 15\\, 81377 München" in lines
    reference = status_of(client, case_id, secret)["reference"]
    assert any(line.startswith("DESCRIPTION:") and reference in line for line in lines)
    assert "diploma" not in response.body.decode() and "Anna" not in response.body.decode()
    assert "SEQUENCE:0" in lines  # just booked (RFC 5545: a new event is 0)


def test_a_place_that_names_the_street_gets_only_the_rest_of_the_address(
    anna: Desk, client: Client, held: tuple[str, str]
) -> None:
    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-12T10:00", 30, location="Marchioninistraße 15, Raum 2.14")
    response = calendar(client, case_id, secret, booked["appointment"]["appointment_id"])
    lines = response.body.decode().replace("\r\n ", "").split("\r\n")
    assert "LOCATION:Marchioninistraße 15\\, Raum 2.14\\, 81377 München" in lines


def test_a_place_in_another_building_is_not_sent_to_the_partners_head_office(
    anna: Desk, client: Client, held: tuple[str, str]
) -> None:
    """LMU's address is Marchioninistraße (Großhadern); the Innenstadt clinics are 8 km away."""
    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-12T10:00", 30, location="Ziemssenstraße 5, Eingang B, 3. Stock")
    response = calendar(client, case_id, secret, booked["appointment"]["appointment_id"])
    lines = response.body.decode().replace("\r\n ", "").split("\r\n")
    assert "LOCATION:Ziemssenstraße 5\\, Eingang B\\, 3. Stock\\, München" in lines
    assert "Marchioninistraße" not in response.body.decode() and "81377" not in response.body.decode()


def test_an_online_appointments_calendar_file_has_its_link_and_no_street_address(
    anna: Desk, client: Client, held: tuple[str, str]
) -> None:
    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-12T10:00", 30, online_url="https://meet.example/abc")
    response = calendar(client, case_id, secret, booked["appointment"]["appointment_id"])
    assert response.status_code == 200
    lines = response.body.decode().replace("\r\n ", "").split("\r\n")
    assert "URL:https://meet.example/abc" in lines and "LOCATION:https://meet.example/abc" in lines
    assert "Marchioninistraße" not in response.body.decode()


def test_no_calendar_file_for_a_cancelled_appointment_a_wrong_secret_or_another_case(
    anna: Desk, client: Client, held: tuple[str, str], submit_case: Callable[..., dict[str, Any]]
) -> None:
    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-12T10:00", 30)
    appointment_id = booked["appointment"]["appointment_id"]
    assert calendar(client, case_id, secret[:-2] + "xx", appointment_id).status_code == 404
    other = submit_case("health")
    other_secret = LINK.search(other["status_link"])["secret"]  # type: ignore[index]
    assert calendar(client, other["case_id"], other_secret, appointment_id).status_code == 404
    assert anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")[0] == 200
    response = calendar(client, case_id, secret, appointment_id)
    assert response.status_code == 404 and response.json_body["code"] == "not_found"


def test_the_calendar_file_is_named_after_the_berlin_day(anna: Desk, client: Client, held: tuple[str, str]) -> None:
    case_id, secret = held
    _, booked = anna.book(case_id, "2025-03-13T00:30", 30)  # 12 March, 23:30 UTC
    response = calendar(client, case_id, secret, booked["appointment"]["appointment_id"])
    assert response.headers["Content-Disposition"] == 'attachment; filename="migranet-2025-03-13.ics"'
    assert "DTSTART:20250312T233000Z" in response.body.decode()


@pytest.mark.parametrize("appointment_id", ["x" * 1500, "ü" * 600, "%00", "A" * 32])
def test_an_odd_appointment_id_is_simply_not_found(client: Client, held: tuple[str, str], appointment_id: str) -> None:
    case_id, secret = held
    response = calendar(client, case_id, secret, appointment_id)
    assert response.status_code == 404 and response.json_body["code"] == "not_found"
