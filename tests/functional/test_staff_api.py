"""The staff workspace through HTTP: queue, case, claim, release, transfer, close, audit."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.errors import StateChangedError
from tests.conftest import deliver_stream, sqs_messages
from tests.functional.appointment_desk import LMU, VIA, Desk

AKADEMIE = "akademie-ingenieure"


@pytest.fixture
def anna(desk) -> Desk:
    return desk(LMU, name="Anna Berger")


@pytest.fixture
def ben(desk) -> Desk:
    return desk(LMU, name="Ben Vogel")


@pytest.fixture
def coordinator(desk) -> Desk:
    return desk(VIA, role="coordinator", name="Clara Coordinator")


# --- finding a case by the reference the applicant reads out ---------------------------------------


def test_a_case_is_found_by_its_reference_as_typed_from_a_phone_call(anna, coordinator, desk, submit_case) -> None:
    case = submit_case("health")  # LMU's
    anna.post(f"/staff/cases/{case['case_id']}/claim")
    typed = case["reference"].lower().replace("-", " ")  # "k7p3 q9xa"
    status, found = anna.get(f"/staff/cases?reference={typed.replace(' ', '%20')}")
    assert status == 200, found
    assert found["reference"] == case["reference"]
    [row] = found["cases"]
    assert (row["case_id"], row["status"], row["claimed_by_name"]) == (case["case_id"], "claimed", "Anna Berger")
    assert "intake" not in row and "given_name" not in json.dumps(row)  # a row, not the case: open it to read it
    assert coordinator.get(f"/staff/cases?reference={case['reference']}")[1]["cases"][0]["case_id"] == case["case_id"]
    # Another partner's staff: as if there were no such case.
    assert desk(VIA, name="Vera Weber").get(f"/staff/cases?reference={case['reference']}") == (
        200,
        {"reference": case["reference"], "cases": []},
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "required"),
        ("?reference=", "required"),
        ("?reference=ABC", "invalid_format"),
        ("?reference=O0I1-L111", "invalid_format"),
    ],
)
def test_a_reference_that_cannot_be_one_is_400_naming_it(anna, query: str, code: str) -> None:
    status, body = anna.get(f"/staff/cases{query}")
    assert status == 400 and body["errors"][0]["field"] == "reference" and body["errors"][0]["code"] == code


def test_an_erased_case_is_not_found_by_its_old_reference(client, anna, submit_case) -> None:
    case = submit_case("health")
    case_id, secret = case["status_link"].split("#", 1)[1].split(".", 1)
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": secret}).status_code == 200
    assert anna.get(f"/staff/cases?reference={case['reference']}")[1]["cases"] == []


def test_an_erased_case_can_no_longer_be_worked_on_nor_come_back_into_a_queue(anna, desk, submit_case) -> None:
    """Erasure leaves the anonymised record for the statistics; a claim, booking, move or close
    would put it back into a queue as a case without an applicant."""
    held, waiting = anna.claimed_case(submit_case), submit_case("health")["case_id"]
    coordinator = desk(None, role="coordinator", name="Clara Coordinator")
    for case_id in (held, waiting):
        status, body = coordinator.post(f"/coordinator/cases/{case_id}/erase", {"reason": "applicant_request"})
        assert status == 200 and body["erased"] is True, body
    moved = {"partner": VIA, "reason": "Needs a German course before recognition."}
    attempts = {
        "claim": anna.post(f"/staff/cases/{waiting}/claim"),
        "book": anna.book(held, "2025-03-12T10:00"),
        "close": anna.post(f"/staff/cases/{held}/close", {"outcome": "counselled"}),
        "release": anna.post(f"/staff/cases/{held}/release"),
        "transfer": anna.post(f"/staff/cases/{held}/transfer", moved),
        "reassign": coordinator.post(f"/coordinator/cases/{waiting}/reassign", moved),
    }
    for action, (status, body) in attempts.items():
        assert (status, body["code"]) == (409, "invalid_transition"), (action, body)
        assert "erased" in body["error"]
    for listing in (anna.queue(), anna.queue("?status=claimed"), desk(VIA).queue()):
        assert listing["cases"] == []
    assert anna.case(held)["reference"] == "ERASED"


def test_a_claim_read_before_an_erasure_does_not_land_after_it(anna, desk, submit_case) -> None:
    """The race the rule above cannot see: the claim's read came before the erasure, its write after."""
    from chalicelib import bootstrap
    from chalicelib.domain.staff import CLAIM, AuditEntry, StaffIdentity, claimed

    case_id = submit_case("health")["case_id"]
    service = bootstrap.staff_service()
    who = StaffIdentity("anna", "Anna Berger", "staff", LMU)
    read = service.store.get_case(case_id)
    coordinator = desk(None, role="coordinator", name="Clara Coordinator")
    assert coordinator.post(f"/coordinator/cases/{case_id}/erase", {"reason": "objection"})[0] == 200
    now = bootstrap.clock().now()
    with pytest.raises(StateChangedError):
        service.store.apply(read, claimed(read, who, now), AuditEntry.of(who, case_id, CLAIM, now))
    assert anna.case(case_id)["claimed_by"] is None and anna.queue()["cases"] == []


def test_a_booking_read_before_an_erasure_does_not_land_after_it(
    anna, desk, submit_case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The booking's write is conditional on the case's updated_at, which the erasure moves on."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamodb.appointment_store import DynamoAppointmentStore
    from chalicelib.services.applicant import APPLICANT

    case_id = anna.claimed_case(submit_case)
    original, erased = DynamoAppointmentStore.write, []

    def erased_meanwhile(store: DynamoAppointmentStore, change: Any, audit: Any) -> None:
        if not erased:  # the erasure's own appointment writes go through here too
            erased.append(True)
            case = bootstrap.applicant_service().cases.get_case(case_id)
            bootstrap.applicant_service().erase_case(case, APPLICANT, "applicant_request")
        original(store, change, audit)

    monkeypatch.setattr(DynamoAppointmentStore, "write", erased_meanwhile)
    day = date.today() + timedelta(days=7)  # this module's desks work on the real clock
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
    status, body = anna.book(case_id, f"{day.isoformat()}T10:00")
    assert (status, body["code"]) == (409, "invalid_transition"), body
    assert anna.get(f"/staff/cases/{case_id}/appointments")[1]["appointments"] == []


def _state(case: dict[str, Any]) -> tuple[Any, ...]:
    return case["partner"], case["status"], case["claimed_by"], case["history"]


# --- queue -----------------------------------------------------------------------------------


def test_queue_lists_own_partner_routed_cases_oldest_first_without_personal_data(anna, submit_case) -> None:
    first, second = submit_case("health"), submit_case("health")
    submit_case("engineering")  # another partner's case
    body = anna.queue()
    assert body["partner"] == LMU and body["status"] == "routed"
    assert [c["case_id"] for c in body["cases"]] == [first["case_id"], second["case_id"]]
    assert body["next_cursor"] is None
    row = body["cases"][0]
    assert row["reference"] == first["reference"] and row["overdue"] is False and "due_at" in row
    text = json.dumps(body)
    for personal in ("Layla", "Haddad", "+49151", "layla@example.org"):
        assert personal not in text


def test_queue_pages_with_an_opaque_cursor_one_index_query_per_page(anna, submit_case, monkeypatch) -> None:
    from pynamodb.connection.base import Connection

    ids = [submit_case("health")["case_id"] for _ in range(5)]
    queries: list[str] = []
    original = Connection.query

    def counting(self: Connection, table_name: str, *args: Any, **kwargs: Any) -> Any:
        queries.append(kwargs.get("index_name") or "")
        return original(self, table_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "query", counting)
    seen: list[str] = []
    cursor = ""
    for _page in range(4):
        body = anna.queue(f"?limit=2{cursor}")
        seen += [c["case_id"] for c in body["cases"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == ids
    assert queries == ["partner-status-index"] * len(queries) and 3 <= len(queries) <= 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=open", "status"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=eyJhIjoxfQ", "cursor"),  # valid base64 JSON, wrong keys
        ("?mine=true", "mine"),
        ("?status=claimed&mine=yes", "mine"),
        ("?state=claimed", "state"),
    ],
)
def test_queue_rejects_bad_parameters_by_name(anna, query: str, field: str) -> None:
    status, body = anna.get(f"/staff/queue{query}")
    assert status == 400
    assert [e["field"] for e in body["errors"]] == [field]


def test_a_cursor_from_another_partner_queue_is_rejected(desk, submit_case) -> None:
    for _ in range(3):
        submit_case("engineering")
    foreign = desk(AKADEMIE).queue("?limit=1")["next_cursor"]
    status, body = desk(LMU).get(f"/staff/queue?cursor={foreign}")
    assert status == 400 and body["errors"][0]["field"] == "cursor"


def test_staff_cannot_list_another_partner_queue(anna) -> None:
    status, _ = anna.get(f"/staff/queue?partner={VIA}")
    assert status == 403


def test_claimed_queue_filters_mine(anna, ben, submit_case) -> None:
    mine, theirs = submit_case("health")["case_id"], submit_case("health")["case_id"]
    anna.post(f"/staff/cases/{mine}/claim")
    ben.post(f"/staff/cases/{theirs}/claim")
    assert [c["case_id"] for c in anna.queue("?status=claimed")["cases"]] == [mine, theirs]
    assert [c["case_id"] for c in anna.queue("?status=claimed&mine=true")["cases"]] == [mine]
    assert anna.queue()["cases"] == []


# --- reading a case --------------------------------------------------------------------------


def test_get_case_returns_the_full_case_and_is_audited(anna, submit_case) -> None:
    created = submit_case("health")
    case = anna.case(created["case_id"])
    assert case["status"] == "routed" and case["partner"] == LMU
    assert case["intake"]["given_name"] == "Layla"
    assert case["routing"]["rule"] == "health-professions"
    assert [h["action"] for h in case["history"]] == ["routed"]
    _, trail = anna.get(f"/staff/cases/{created['case_id']}/audit")
    assert [(e["action"], e["staff_name"], e["partner"]) for e in trail["entries"]] == [("view", "Anna Berger", LMU)]


def test_unknown_case_is_404(anna) -> None:
    status, body = anna.get("/staff/cases/00000000-0000-4000-8000-000000000000")
    assert status == 404 and body["code"] == "not_found"


# --- claim / release -------------------------------------------------------------------------


def test_claim_gives_the_case_to_the_caller_and_moves_it_in_the_queue(anna, ben, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    status, case = anna.post(f"/staff/cases/{case_id}/claim")
    assert status == 200
    assert (case["status"], case["claimed_by_name"]) == ("claimed", "Anna Berger")
    assert case["history"][-1]["action"] == "claimed"
    assert anna.queue()["cases"] == []
    assert [c["claimed_by_name"] for c in anna.queue("?status=claimed")["cases"]] == ["Anna Berger"]

    status, body = ben.post(f"/staff/cases/{case_id}/claim")
    assert status == 409
    assert body == {
        "error": "Anna Berger is already working on this case.",
        "code": "already_claimed",
        "claimed_by_name": "Anna Berger",
    }
    again, case = anna.post(f"/staff/cases/{case_id}/claim")  # a double click is not an error
    assert again == 200 and case["claimed_by_name"] == "Anna Berger"
    assert [h["action"] for h in anna.case(case_id)["history"]] == ["routed", "claimed"]


def test_release_puts_the_case_back_only_for_holder_or_coordinator(anna, ben, coordinator, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    status, body = anna.post(f"/staff/cases/{case_id}/release")
    assert status == 409 and body["code"] == "invalid_transition"

    anna.post(f"/staff/cases/{case_id}/claim")
    status, body = ben.post(f"/staff/cases/{case_id}/release")
    assert status == 403 and body["claimed_by_name"] == "Anna Berger"
    assert anna.case(case_id)["status"] == "claimed"

    status, case = anna.post(f"/staff/cases/{case_id}/release")
    assert status == 200 and case["status"] == "routed" and case["claimed_by"] is None
    assert [c["case_id"] for c in anna.queue()["cases"]] == [case_id]

    ben.post(f"/staff/cases/{case_id}/claim")
    status, case = coordinator.post(f"/staff/cases/{case_id}/release")
    assert status == 200 and case["status"] == "routed"
    assert case["history"][-1]["detail"]["released_for"] == "Ben Vogel"


# --- close -----------------------------------------------------------------------------------


def test_close_needs_a_claim_and_a_known_outcome(anna, ben, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 409 and "Claim this case" in body["error"]
    anna.post(f"/staff/cases/{case_id}/claim")

    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "solved"})
    assert status == 400 and body["errors"][0]["field"] == "outcome"
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled", "extra": 1})
    assert status == 400 and body["errors"][0]["field"] == "extra"
    status, _ = ben.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 403
    assert anna.case(case_id)["status"] == "claimed"

    status, case = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "referred_elsewhere", "note": "Sent on."})
    assert status == 200 and case["status"] == "closed"
    expected = {"by_name": "Anna Berger", "outcome": "referred_elsewhere", "note": "Sent on."}
    assert case["history"][-1]["detail"] == expected
    assert [c["case_id"] for c in anna.queue("?status=closed")["cases"]] == [case_id]
    assert anna.queue("?status=claimed")["cases"] == []

    for action, body in [("close", {"outcome": "duplicate"}), ("claim", None), ("release", None)]:
        status, answer = anna.post(f"/staff/cases/{case_id}/{action}", body)
        assert status == 409 and "closed" in answer["error"], action
    assert len(anna.case(case_id)["history"]) == 3


@pytest.mark.parametrize("outcome", ["counselled", "referred_elsewhere", "no_response", "withdrawn", "duplicate"])
def test_every_outcome_closes(anna, submit_case, outcome: str) -> None:
    case_id = submit_case("health")["case_id"]
    anna.post(f"/staff/cases/{case_id}/claim")
    status, case = anna.post(f"/staff/cases/{case_id}/close", {"outcome": outcome})
    assert status == 200 and case["history"][-1]["detail"]["outcome"] == outcome


# --- transfer --------------------------------------------------------------------------------

REASON = "Needs a German course before recognition."


def test_transfer_moves_the_case_and_keeps_its_history(anna, desk, submit_case) -> None:
    created = submit_case("health")
    case_id = created["case_id"]
    anna.post(f"/staff/cases/{case_id}/claim")
    deliver_stream(anna.client)
    sqs_messages(VIA)  # drain

    status, case = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": REASON})
    assert status == 200
    assert (case["status"], case["partner"], case["claimed_by"]) == ("routed", VIA, None)
    assert [(h["action"], h["partner"]) for h in case["history"]] == [
        ("routed", LMU),
        ("claimed", LMU),
        ("transferred", VIA),
    ]
    expected = {"by_name": "Anna Berger", "from": LMU, "to": VIA, "reason": REASON}
    assert case["history"][-1]["detail"] == expected
    # The routing decision still says who the rules chose, not who holds the case now.
    assert case["routing"] == {
        "rule": "health-professions",
        "partner": LMU,
        "reason": "qualification.profession_group is health",
        "conditions": [{"field": "qualification.profession_group", "test": "is", "values": ["health"]}],
    }

    deliver_stream(anna.client)
    messages = sqs_messages(VIA)
    assert [(m["type"], m["case_id"], m["reference"]) for m in messages] == [
        ("case.routed", case_id, created["reference"])
    ]
    assert "Layla" not in json.dumps(messages)

    via = desk(VIA, name="Vera Weber")
    assert [c["case_id"] for c in via.queue()["cases"]] == [case_id]
    assert via.case(case_id)["history"][0]["partner"] == LMU
    assert anna.queue("?status=claimed")["cases"] == [] and anna.queue()["cases"] == []
    status, _ = anna.get(f"/staff/cases/{case_id}")
    assert status == 404  # it belongs to VIA now

    # ...and back again: in LMU's queue once more.
    back = {"partner": LMU, "reason": "Health professional after all."}
    status, case = via.post(f"/staff/cases/{case_id}/transfer", back)
    assert status == 200 and case["partner"] == LMU
    assert [c["case_id"] for c in anna.queue()["cases"]] == [case_id]
    assert via.queue()["cases"] == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"partner": VIA, "reason": "too short"}, 400, "reason"),
        ({"partner": VIA, "reason": "          x          "}, 400, "reason"),
        ({"partner": VIA, "reason": "\u200b" * 12}, 400, "reason"),  # zero-width spaces: nothing to read
        ({"partner": VIA, "reason": "ok \u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b"}, 400, "reason"),
        ({"partner": VIA}, 400, "reason"),
        ({"partner": "atlantis-amt", "reason": REASON}, 400, "partner"),
        ({"partner": "Not An Id!", "reason": REASON}, 400, "partner"),
        ({"partner": LMU, "reason": REASON}, 409, None),
        ({"partner": VIA, "reason": "Umzug nach \ud800 Augsburg"}, 400, "reason"),  # unpaired surrogate: was 500
    ],
)
def test_invalid_transfers_leave_the_case_unchanged(anna, submit_case, body, status: int, field: str | None) -> None:
    case_id = submit_case("health")["case_id"]
    before = anna.case(case_id)
    answer_status, answer = anna.post(f"/staff/cases/{case_id}/transfer", body)
    assert answer_status == status
    if field:
        assert [e["field"] for e in answer["errors"]] == [field]
        assert answer["errors"][0]["message"]
    else:
        assert "already in the queue" in answer["error"]
    assert _state(anna.case(case_id)) == _state(before)


def test_too_short_reason_says_how_long_it_must_be(anna, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    _, answer = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "short"})
    assert answer["errors"] == [{"field": "reason", "code": "too_short", "message": answer["errors"][0]["message"]}]
    assert "10" in answer["errors"][0]["message"]


def test_closed_case_cannot_be_transferred_and_colleague_cannot_transfer_a_held_case(anna, ben, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    anna.post(f"/staff/cases/{case_id}/claim")
    status, _ = ben.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": REASON})
    assert status == 403
    anna.post(f"/staff/cases/{case_id}/close", {"outcome": "duplicate"})
    status, body = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": REASON})
    assert status == 409 and "closed" in body["error"]


def test_transfer_body_must_be_json(anna, client, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    response = client.http.post(
        f"/staff/cases/{case_id}/transfer", body=b"partner=via", headers={**anna.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


# --- cross-partner access: 404 everywhere, indistinguishable from a missing case -------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", "/audit", None),
    ("POST", "/claim", None),
    ("POST", "/release", None),
    ("POST", "/transfer", {"partner": VIA, "reason": REASON}),
    ("POST", "/close", {"outcome": "counselled"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
@pytest.mark.parametrize("state", ["routed", "claimed"])
def test_another_partner_case_is_404_on_every_endpoint(
    desk, submit_case, method: str, suffix: str, body: Any, state: str
) -> None:
    case_id = submit_case("engineering")["case_id"]  # akademie-ingenieure
    owner = desk(AKADEMIE, name="Olga Owner")
    if state == "claimed":
        owner.post(f"/staff/cases/{case_id}/claim")
    before = owner.case(case_id)
    stranger = desk(LMU, name="Sam Stranger")

    def call(path: str) -> tuple[int, Any]:
        return stranger.get(path) if method == "GET" else stranger.post(path, body)

    status, answer = call(f"/staff/cases/{case_id}{suffix}")
    missing_status, missing = call(f"/staff/cases/00000000-0000-4000-8000-000000000000{suffix}")
    assert (status, answer) == (404, missing) == (missing_status, missing)
    assert _state(owner.case(case_id)) == _state(before)
    _, trail = owner.get(f"/staff/cases/{case_id}/audit")
    assert all(e["staff_name"] != "Sam Stranger" for e in trail["entries"])


# --- audit -----------------------------------------------------------------------------------


def test_audit_lists_reads_and_actions_newest_first_without_applicant_data(
    anna, coordinator, desk, submit_case
) -> None:
    case_id = submit_case("health")["case_id"]
    anna.case(case_id)
    anna.post(f"/staff/cases/{case_id}/claim")
    anna.post(f"/staff/cases/{case_id}/release")
    anna.post(f"/staff/cases/{case_id}/claim")
    anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Layla Haddad +49 151 12345678 needs VIA"})
    via = desk(VIA, name="Vera Weber")
    via.post(f"/staff/cases/{case_id}/claim")
    note = "Called Layla Haddad on 0151 1234 5678"
    via.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled", "note": note})
    coordinator.case(case_id)

    status, trail = via.get(f"/staff/cases/{case_id}/audit")
    assert status == 200
    actions = [(e["action"], e["staff_name"]) for e in trail["entries"]]
    assert actions == [
        ("view", "Clara Coordinator"),
        ("close", "Vera Weber"),
        ("claim", "Vera Weber"),
        ("transfer", "Anna Berger"),
        ("claim", "Anna Berger"),
        ("release", "Anna Berger"),
        ("claim", "Anna Berger"),
        ("view", "Anna Berger"),
    ]
    entry = trail["entries"][0]
    assert set(entry) == {"at", "staff_id", "staff_name", "partner", "role", "action", "case_id", "detail"}
    assert trail["entries"][1]["detail"] == {"outcome": "counselled", "has_note": True}
    assert trail["entries"][3]["detail"] | {"reason_chars": 0} == {"from": LMU, "to": VIA, "reason_chars": 0}
    text = json.dumps(trail)
    for personal in ("Layla", "Haddad", "12345678", "1234 5678"):
        assert personal not in text

    status, page = via.get(f"/staff/cases/{case_id}/audit?limit=3")
    assert [e["action"] for e in page["entries"]] == ["view", "close", "claim"]
    _, rest = via.get(f"/staff/cases/{case_id}/audit?limit=100&cursor={page['next_cursor']}")
    assert len(rest["entries"]) == 5
    status, body = via.get(f"/staff/cases/{case_id}/audit?cursor=Zm9v")
    assert status == 400 and body["errors"][0]["field"] == "cursor"


def test_failed_actions_write_no_audit_entry(anna, ben, submit_case) -> None:
    case_id = submit_case("health")["case_id"]
    anna.post(f"/staff/cases/{case_id}/claim")
    ben.post(f"/staff/cases/{case_id}/claim")
    ben.post(f"/staff/cases/{case_id}/release")
    _, trail = anna.get(f"/staff/cases/{case_id}/audit")
    assert [e["action"] for e in trail["entries"]] == ["claim"]


def test_audit_store_has_no_update_or_delete_path() -> None:
    from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog

    public = {name for name in dir(DynamoAuditLog) if not name.startswith("_")}
    assert public == {"append", "entries"}
