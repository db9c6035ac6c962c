"""One line per HTTP operation: the table chalicelib/openapi.py turns into the OpenAPI document.

Adding an endpoint = one `Operation(...)` in OPERATIONS. `tests/functional/test_openapi.py`
fails for any Chalice route that has no line here, and for any line without a route.
Paths under /staff and /coordinator get the bearer-JWT scheme and 401/403 automatically;
`form=` bodies are documented as application/x-www-form-urlencoded (Twilio webhooks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.staff import REPEAT_WINDOW

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# Release, transfer, reassign, close, an appointment's change and cancel (claim: a no-op for its holder anyway).
REPEAT = (
    f"The same request from the same person within {REPEAT_WINDOW.seconds // 60} minutes of the change it "
    "made (a retry after a lost answer, such as a 503 whose write had landed) is answered 200 with the record "
    "as it is, not 409; nothing is written or sent twice."
)
MOVED_REPEAT = REPEAT + " This holds after the caller's own transfer too, which moved the case out of their sight."


@dataclass(frozen=True)
class Body:
    """A success response: a component schema name (or an inline schema) and its media type."""

    description: str
    schema: str | dict[str, Any] | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()
    # Other media types the same response can have (e.g. a CSV export): (media type, inline schema).
    alternatives: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    responses: dict[int, Body]
    body: str | None = None  # a JSON body: schema name in schemas/ (e.g. "intake")
    form: str | None = None  # a form-encoded body: schema name in schemas/ or in SCHEMAS here
    errors: tuple[int, ...] = ()  # 400/413/415 come with `body`, 401/403 with a secured path
    parameters: tuple[str, ...] = ()  # names in PARAMETERS (headers, query)
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # default: non-empty string
    description: str = ""
    public: bool = False  # True: no token even under a secured prefix (e.g. the login itself)


# Every page (intake, staff, status) answers alike: HTML, or 304 for the ETag it sent.
HTML_PAGE = {200: Body("The page.", {"type": "string"}, "text/html"), 304: Body("Not modified (ETag).")}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/intake",
        "Submit an intake; it is validated, stored, routed to a partner and queued.",
        "applicants",
        body="intake",
        parameters=("Idempotency-Key",),
        responses={
            201: Body("Stored and routed.", "IntakeAccepted", headers=("Idempotent-Replayed",)),
        },
        errors=(409, 503),
    ),
    Operation(
        "POST",
        "/routing/preview",
        "Which partner an intake would be routed to, storing nothing.",
        "applicants",
        body="intake",
        responses={200: Body("The routing decision.", "RoutingDecision")},
        errors=(503,),
    ),
    Operation(
        "GET",
        "/partners",
        "The partner institutions (what they offer, languages spoken) for the intake page.",
        "applicants",
        responses={200: Body("All partners.", "PartnerList")},
        errors=(503,),
    ),
    Operation(
        "GET",
        "/applicant/{case_id}",
        "The applicant's own case status, with the secret of their status link.",
        "applicants",
        parameters=("X-Status-Secret",),
        responses={200: Body("Status of the case.", "ApplicantStatus")},
        errors=(404, 503),
    ),
    Operation(
        "GET",
        "/applicant/{case_id}/export",
        "Download everything stored about the applicant as JSON (GDPR Art. 15).",
        "applicants",
        parameters=("X-Status-Secret",),
        responses={200: Body("The export (a file download).", "ApplicantExport")},
        errors=(404, 503),
    ),
    Operation(
        "GET",
        "/applicant/{case_id}/appointments/{appointment_id}/calendar",
        "One appointment not yet over as an iCalendar file, for the applicant's phone calendar.",
        "applicants",
        parameters=("X-Status-Secret",),
        responses={
            200: Body(
                "An .ics download (RFC 5545) in the case's language; downloaded again after a change, "
                "it updates the same event.",
                {"type": "string"},
                media_type="text/calendar",
            )
        },
        errors=(404, 503),
        description="404 also for a cancelled appointment, one that has begun, or one of another case.",
    ),
    Operation(
        "DELETE",
        "/applicant/{case_id}",
        "Erase the applicant's personal data everywhere (GDPR Art. 17); anonymous statistics remain.",
        "applicants",
        parameters=("X-Status-Secret",),
        responses={200: Body("Erased.", "Erased")},
        errors=(404, 409, 503),
    ),
    Operation(
        "GET",
        "/openapi.json",
        "This document.",
        "meta",
        responses={200: Body("OpenAPI 3.1 document.", "OpenApiDocument")},
    ),
    # The intake page and what it loads (chalicelib/pages): HTML, CSS/JS and the schema it validates with.
    Operation(
        "GET",
        "/",
        "The intake page in the browser's language (Accept-Language; German when none fits).",
        "pages",
        parameters=("If-None-Match",),
        responses=HTML_PAGE,
    ),
    Operation(
        "GET",
        "/intake",
        "The intake page as at `/`: a browser opening the form's API path (a shared link) gets the form.",
        "pages",
        parameters=("If-None-Match",),
        responses=HTML_PAGE,
    ),
    Operation(
        "GET",
        "/{language}",
        "The intake page in one of the 11 intake languages, e.g. /ar (right to left).",
        "pages",
        parameters=("If-None-Match",),
        responses=HTML_PAGE,
        errors=(404,),
    ),
    Operation(
        "GET",
        "/assets/{name}",
        "A stylesheet or script of the pages; `?v=<hash>` URLs may be cached for a year.",
        "pages",
        parameters=("StaticVersion", "If-None-Match"),
        responses={200: Body("The file.", {"type": "string"}, "text/*"), 304: Body("Not modified (ETag).")},
        errors=(404,),
    ),
    Operation(
        "GET",
        "/schemas/{name}",
        "A JSON Schema of a request body, e.g. intake.schema.json: browsers validate with the server's rules.",
        "pages",
        parameters=("StaticVersion", "If-None-Match"),
        responses={
            200: Body("The schema (draft 2020-12).", {"type": "object"}, "application/schema+json"),
            304: Body("Not modified (ETag)."),
        },
        errors=(404,),
    ),
    Operation(
        "GET",
        "/staff",
        "The staff workspace page (German/English, `?lang=`); it signs in and calls the API from the browser.",
        "pages",
        public=True,
        parameters=("StaffPageLanguage", "If-None-Match"),
        responses=HTML_PAGE,
        errors=(404,),
    ),
    # Staff workspace (issue 3): bearer token required (staff_sign_in in app.py).
    Operation(
        "GET",
        "/staff/queue",
        "The caller's institution's queue, oldest first, one page per index query.",
        "staff",
        parameters=("QueueStatus", "Mine", "QueuePartner", "Limit", "Cursor"),
        responses={200: Body("One page of the queue.", "QueuePage")},
        errors=(400, 503),
    ),
    Operation(
        "GET",
        "/staff/cases",
        "Find a case by the reference the applicant reads out (K7P3-Q9XA; lower case, spaces, no dash are fine).",
        "staff",
        parameters=("Reference",),
        responses={200: Body("The caller's case(s) with this reference: none, or (as good as always) one.", "Found")},
        errors=(400, 503),
    ),
    Operation(
        "GET",
        "/staff/cases/{case_id}",
        "The full case (intake, routing decision, history); the read is audited.",
        "staff",
        responses={200: Body("The case.", "Case")},
        errors=(404, 503),
    ),
    Operation(
        "GET",
        "/staff/cases/{case_id}/audit",
        "Who read or changed this case, newest first.",
        "staff",
        parameters=("Limit", "Cursor"),
        responses={200: Body("One page of the audit log.", "AuditPage")},
        errors=(400, 404, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/claim",
        "Take the case; exactly one of many simultaneous claims wins (409 names the holder).",
        "staff",
        responses={200: Body("The case, now claimed by the caller.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/release",
        "Put a claimed case back into the queue (its holder or a coordinator).",
        "staff",
        description=REPEAT,
        responses={200: Body("The case, routed again.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/transfer",
        "Move the case to another partner's queue, with a reason.",
        "staff",
        body="transfer",
        description=MOVED_REPEAT,
        responses={200: Body("The case, routed to the new partner.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/close",
        "Close a claimed or scheduled case with an outcome.",
        "staff",
        body="close",
        description="Its upcoming appointments are cancelled in the same write (reason `case_closed`, the "
        "holder's time freed) and their unsent SMS right after; the applicant is then told of each one still ahead "
        "by an `appointment_cancelled` SMS (with SMS consent). "
        "409 `invalid_transition` if the case is not claimed, is closed, or has more than 30 upcoming appointments. "
        + REPEAT,
        responses={200: Body("The closed case.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/attention/resolve",
        "Mark one of the case's open 'please check' flags as dealt with (e.g. the applicant was called).",
        "staff",
        body="attention-resolve",
        description="Any staff of the case's institution may, whoever holds the case; its status and holder "
        "stay as they are, and the optional note is kept in the case history. A flag also closes by itself "
        "when the appointment it names is moved, cancelled or its attendance recorded. "
        "409 `attention_not_open` if no such flag is open (settled, or resolved by someone else); "
        "409 `invalid_transition` for an erased case. " + REPEAT,
        responses={200: Body("The case, with the flags still open.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "GET",
        "/coordinator/cases",
        "Cases across partners (or one), overdue first; coordinators only.",
        "coordinator",
        parameters=("CoordinatorPartner", "CoordinatorStatus", "Limit", "Cursor"),
        responses={200: Body("One page per partner, merged.", "CoordinatorPage")},
        errors=(400, 503),
    ),
    Operation(
        "POST",
        "/coordinator/cases/{case_id}/reassign",
        "Move any case to another partner, whoever holds it; coordinators only.",
        "coordinator",
        body="transfer",
        description=REPEAT,
        responses={200: Body("The case, routed to the new partner.", "Case")},
        errors=(404, 409, 503),
    ),
    # Data protection and reporting (issue 7).
    Operation(
        "GET",
        "/coordinator/cases/{case_id}/export",
        "Everything stored about the applicant (GDPR Art. 15), on their request; coordinators only, audited.",
        "coordinator",
        responses={200: Body("The export (a file download).", "ApplicantExport")},
        errors=(404, 503),
    ),
    Operation(
        "POST",
        "/coordinator/cases/{case_id}/erase",
        "Erase the applicant's personal data everywhere (GDPR Art. 17); statistics remain. Audited.",
        "coordinator",
        body="erase",
        responses={200: Body("Erased (again: nothing more to do).", "Erased")},
        errors=(404, 409, 503),
    ),
    Operation(
        "GET",
        "/coordinator/metrics",
        "Intakes, routing, time to claim and to first appointment, overdue, attendance, SMS and opt-outs, "
        "per partner and network-wide; coordinators only.",
        "coordinator",
        parameters=("From", "To", "MetricsFormat"),
        responses={
            200: Body(
                "The figures (JSON), or with format=csv a CSV file (an attachment).",
                "Metrics",
                alternatives=(("text/csv", {"type": "string"}),),
            ),
        },
        errors=(400, 503),
    ),
    Operation(
        "GET",
        "/status",
        "The applicant's status page: open the status link (`/status#<case_id>.<secret>`).",
        "pages",
        parameters=("If-None-Match",),
        responses=HTML_PAGE,
    ),
    # Appointments (issue 4): the holder of the case or a coordinator changes them; 404 across partners.
    Operation(
        "GET",
        "/staff/cases/{case_id}/appointments",
        "The case's appointments (oldest first) with the applicant's replies; the read is audited.",
        "appointments",
        responses={200: Body("The appointments.", "AppointmentList")},
        errors=(404, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/appointments",
        "Book an appointment (case becomes `scheduled`); 409 `appointment_overlap` if the holder is busy then.",
        "appointments",
        body="appointment",
        parameters=("Idempotency-Key",),
        description="409 `in_the_past` for a start that is not in the future (its `errors` name `start`), "
        "`appointment_overlap` (with `conflicting_appointment`) if the holder has another appointment then, "
        "`invalid_transition` if the case is not claimed or is closed. A start that is not a date and time "
        "is 400. The SMS planned: `appointment_booked` now, reminders before the start (with SMS consent). "
        "A 503 (also one after the booking was stored) can be retried: the retry gets the booking (201, "
        "`Idempotent-Replayed: true`) and plans the SMS the lost answer skipped. With an Idempotency-Key that "
        "holds for every repeat; without one, only for the same body from the same caller while the booking is "
        f"the case's last step, within {REPEAT_WINDOW.seconds // 60} minutes (later, the same body is a new "
        "booking and clashes with the first). Send a key.",
        responses={
            201: Body(
                "The appointment and the SMS planned for it (a repeat with the same Idempotency-Key: as it is now).",
                "AppointmentResult",
                headers=("Idempotent-Replayed",),
            )
        },
        errors=(404, 409, 503),
    ),
    Operation(
        "PATCH",
        "/staff/cases/{case_id}/appointments/{appointment_id}",
        "Reschedule or edit: reminders re-planned, old ones cancelled, `appointment_changed` planned.",
        "appointments",
        body="appointment-change",
        responses={200: Body("The changed appointment and the SMS planned.", "AppointmentResult")},
        errors=(404, 409, 503),
        description="A new time or place cancels the appointment's unsent SMS (an unsent `appointment_booked` "
        "too) and plans `appointment_changed` and new reminders; a new duration or note alone plans none. "
        "409 `in_the_past` for a new start that is not in the future (its `errors` name `start`), "
        "`appointment_overlap`, `appointment_started` once it has begun, `invalid_transition` if it is "
        "cancelled, its attendance is recorded or the case is closed. " + REPEAT,
    ),
    Operation(
        "DELETE",
        "/staff/cases/{case_id}/appointments/{appointment_id}",
        "Cancel: reminders cancelled, the applicant told by SMS (`appointment_cancelled`).",
        "appointments",
        responses={200: Body("The cancelled appointment and the SMS planned.", "AppointmentResult")},
        errors=(404, 409, 503),
        description="The appointment's unsent SMS (an unsent `appointment_booked` too) are cancelled and "
        "`appointment_cancelled` is planned (with SMS consent). 409 `appointment_started` once it has begun, "
        "`invalid_transition` if it is already cancelled, its attendance is recorded or the case is closed. " + REPEAT,
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/appointments/{appointment_id}/attendance",
        "Record whether the applicant came (no-show tracking); a correction is recorded the same way.",
        "appointments",
        body="attendance",
        responses={200: Body("The appointment with its attendance.", "AppointmentResult")},
        errors=(404, 409, 503),
        description="Any appointment not cancelled, at any time. Recorded before its start, the appointment "
        "no longer counts as upcoming (the case leaves `scheduled` unless another one is) and its unsent "
        "SMS are cancelled. 409 `invalid_transition` for a cancelled appointment. Recording the value already "
        "recorded (a retry after a lost answer) answers 200 and writes nothing.",
    ),
    Operation(
        "GET",
        "/staff/cases/{case_id}/messages",
        "The case's SMS log: kinds, delivery status, failures, replies, opt-out; the read is audited.",
        "appointments",
        responses={200: Body("The SMS of the case.", "CaseMessages")},
        errors=(404, 503),
    ),
    Operation(
        "POST",
        "/sms/inbound",
        "Twilio's incoming-SMS webhook: STOP/START/HELP and answers 1/2 to reminders; replies in TwiML.",
        "sms",
        form="sms-inbound",
        parameters=("X-Twilio-Signature",),
        responses={
            200: Body(
                "TwiML: a <Message> in the applicant's language, or an empty <Response/>.",
                {"type": "string"},
                media_type="text/xml",
            )
        },
        errors=(400, 403),
        description="Unsigned or forged requests get 403 and change nothing. Twilio's retries of one "
        "MessageSid get the first answer. Opt-out words: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, "
        "STOPP, ABMELDEN (case and punctuation ignored); CANCEL also flags the case for a call.",
    ),
    Operation(
        "POST",
        "/sms/status",
        "Twilio's status callback: queued, sent, delivered, undelivered, failed (with the error code).",
        "sms",
        form="sms-status",
        parameters=("X-Twilio-Signature", "SmsMessageId"),
        responses={200: Body("An empty TwiML <Response/>.", {"type": "string"}, media_type="text/xml")},
        errors=(400, 403),
    ),
)
