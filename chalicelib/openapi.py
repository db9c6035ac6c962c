"""The OpenAPI 3.1 document of the HTTP API, built from a small table and the files in `schemas/`.

Request bodies are the JSON Schemas in `schemas/` embedded once under `components.schemas`
and referenced by `$ref` (no second copy to drift). Only what `schemas/` does not hold lives
here: the success bodies, the error shapes and one line per operation.

Adding an endpoint = one `Operation(...)` line in OPERATIONS. `tests/functional/test_openapi.py`
fails for any Chalice route that has no line here, and for any line without a route.
Paths under /staff and /coordinator get the bearer-JWT scheme and 401/403 automatically;
`form=` bodies are documented as application/x-www-form-urlencoded (Twilio webhooks).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from chalicelib.schemas import load_schema

OPENAPI_VERSION = "3.1.0"
SECURED_PREFIXES = ("/staff", "/coordinator")
BEARER = "staffBearer"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# Error responses by status: (component name, description, schema).
ERROR_RESPONSES: dict[int, tuple[str, str, str]] = {
    400: ("BadRequest", "The request has invalid fields; `errors` lists each one by its JSON path.", "ValidationError"),
    401: ("Unauthorized", "No bearer token, or it is invalid or expired.", "Error"),
    403: ("Forbidden", "The token is valid but does not allow this (other partner or role).", "Error"),
    404: ("NotFound", "No such resource (or not visible to the caller).", "Error"),
    409: ("Conflict", "The resource changed state, or an Idempotency-Key was reused with another body.", "Error"),
    413: ("PayloadTooLarge", "The body is larger than 64 KiB.", "Error"),
    415: ("UnsupportedMediaType", "The Content-Type is not the one this endpoint reads.", "Error"),
    503: (
        "ServiceUnavailable",
        "Storage is busy (throttled or a transaction collided); retry after Retry-After.",
        "Error",
    ),
}


@dataclass(frozen=True)
class Body:
    """A success response: a component schema name (or an inline schema) and its media type."""

    description: str
    schema: str | dict[str, Any] | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()


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


# Response bodies and other shapes not in schemas/ (schemas/ holds what clients send).
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error", "code"],
        "properties": {
            "error": {"type": "string", "description": "What went wrong, in English, for a person."},
            "code": {"type": "string", "description": "Stable machine-readable code."},
        },
    },
    "FieldError": {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string", "description": "JSON path, e.g. qualification.country, or (body)."},
            "code": {"type": "string", "description": "required, invalid_phone, too_long, not_allowed, …"},
            "message": {"type": "string"},
        },
    },
    "ValidationError": {
        "type": "object",
        "required": ["error", "code", "errors"],
        "properties": {
            "error": {"type": "string"},
            "code": {"const": "validation_failed"},
            "errors": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/FieldError"}},
        },
    },
    "RoutingDecision": {
        "type": "object",
        "required": ["partner", "partner_name", "rule", "reason"],
        "properties": {
            "partner": {"type": "string", "description": "Partner id, e.g. via-bayern."},
            "partner_name": {"type": "string"},
            "rule": {"type": "string", "description": "Id of the routing rule that matched."},
            "reason": {"type": "string", "description": "Why that rule matched, for staff and applicant."},
        },
    },
    "IntakeAccepted": {
        "allOf": [{"$ref": "#/components/schemas/RoutingDecision"}],
        "type": "object",
        "required": ["case_id", "reference", "status"],
        "properties": {
            "case_id": {"type": "string", "format": "uuid"},
            "reference": {
                "type": "string",
                "pattern": "^[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}$",
                "description": "Short code an applicant can read out on the phone.",
            },
            "status": {"const": "routed"},
            "status_link": {
                "type": "string",
                "description": "One-time link for the applicant: status, export, erasure. The secret after "
                "`#<case_id>.` is shown only here (stored hashed); send it as X-Status-Secret.",
            },
        },
    },
    "ApplicantStatus": {
        "type": "object",
        "required": ["case_id", "reference", "status", "partner", "partner_name"],
        "properties": {
            "case_id": {"type": "string"},
            "reference": {"type": "string"},
            "status": {"type": "string"},
            "partner": {"type": "string"},
            "partner_name": {"type": "string"},
            "partner_address": {"type": ["string", "null"]},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "language": {"type": "string"},
        },
    },
    "ApplicantExport": {
        "type": "object",
        "required": ["exported_at", "case"],
        "description": "Everything stored about the applicant (GDPR Art. 15).",
    },
    "Erased": {
        "type": "object",
        "required": ["case_id", "erased", "erased_at"],
        "properties": {"case_id": {"type": "string"}, "erased": {"const": True}, "erased_at": {"type": "string"}},
    },
    "Partner": {
        "type": "object",
        "required": ["id", "name", "offers", "languages"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "short_name": {"type": "string"},
            "description": {"type": "string"},
            "offers": {"type": "array", "items": {"type": "string"}},
            "languages": {"type": "array", "items": {"type": "string"}},
            "address": {"type": "string"},
        },
    },
    "PartnerList": {
        "type": "object",
        "required": ["partners"],
        "properties": {"partners": {"type": "array", "items": {"$ref": "#/components/schemas/Partner"}}},
    },
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
    # Coordinator metrics (issue 7); the meaning of each figure: chalicelib/domain/metrics.py.
    "Durations": {
        "type": "object",
        "required": ["median", "p90", "count"],
        "properties": {
            "median": {"type": ["number", "null"], "description": "Hours; linear interpolation; null if none."},
            "p90": {"type": ["number", "null"], "description": "Hours, 90th percentile (linear interpolation)."},
            "count": {"type": "integer", "minimum": 0},
        },
    },
    "Figures": {
        "type": "object",
        "required": [
            "intakes",
            "routed_per_rule",
            "time_to_claim_hours",
            "time_to_first_appointment_hours",
            "overdue_cases",
            "appointments",
            "attended",
            "no_shows",
            "no_show_rate",
            "sms",
            "opt_outs",
        ],
        "properties": {
            "intakes": {"type": "integer", "minimum": 0},
            "routed_per_rule": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "time_to_claim_hours": {"$ref": "#/components/schemas/Durations"},
            "time_to_first_appointment_hours": {"$ref": "#/components/schemas/Durations"},
            "overdue_cases": {"type": "integer", "minimum": 0},
            "appointments": {"type": "integer", "minimum": 0},
            "attended": {"type": "integer", "minimum": 0},
            "no_shows": {"type": "integer", "minimum": 0},
            "no_show_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "sms": {
                "type": "object",
                "required": ["sent", "delivered", "failed"],
                "properties": {k: {"type": "integer", "minimum": 0} for k in ("sent", "delivered", "failed")},
            },
            "opt_outs": {"type": "integer", "minimum": 0},
        },
    },
    "Metrics": {
        "type": "object",
        "additionalProperties": False,
        "required": ["from", "to", "generated_at", "network", "partners"],
        "description": "Figures of the cases received from `from` to `to` (Europe/Berlin days, both included).",
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "generated_at": {"type": "string", "format": "date-time"},
            "network": {"$ref": "#/components/schemas/Figures"},
            "partners": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Figures"}},
        },
    },
    # Staff workspace (issue 3): what staff and coordinators get back.
    "QueueEntry": {
        "type": "object",
        "description": "A case in a partner's queue: no personal data, only what triage needs.",
        "required": ["case_id", "reference", "partner", "status", "queued_at", "overdue"],
        "properties": {
            "case_id": {"type": "string"},
            "reference": {"type": "string"},
            "partner": {"type": "string"},
            "partner_name": {"type": "string", "description": "Coordinator view only."},
            "status": {"enum": ["routed", "claimed", "closed", "transferred"]},
            "queued_at": {"type": "string", "format": "date-time"},
            "due_at": {"type": "string", "description": "Routed rows: when the unclaimed-case SLA runs out."},
            "language": {"type": "string"},
            "profession_group": {"type": "string"},
            "goals": {"type": "array", "items": {"type": "string"}},
            "rule": {"type": "string"},
            "claimed_by": {"type": ["string", "null"]},
            "claimed_by_name": {"type": ["string", "null"]},
            "overdue": {"type": "boolean", "description": "Routed past the partner's SLA (working days)."},
        },
    },
    "QueuePage": {
        "type": "object",
        "required": ["partner", "status", "cases", "next_cursor"],
        "properties": {
            "partner": {"type": "string"},
            "status": {"type": "string"},
            "cases": {"type": "array", "items": {"$ref": "#/components/schemas/QueueEntry"}},
            "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page."},
        },
    },
    "CoordinatorPage": {
        "type": "object",
        "required": ["status", "partners", "cases", "next_cursor"],
        "properties": {
            "status": {"type": "string"},
            "partners": {"type": "array", "items": {"type": "string"}},
            "cases": {"type": "array", "items": {"$ref": "#/components/schemas/QueueEntry"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "HistoryEntry": {
        "type": "object",
        "required": ["at", "action", "partner"],
        "properties": {
            "at": {"type": "string"},
            "action": {"type": "string", "description": "routed, claimed, released, transferred, reassigned, …"},
            "partner": {"type": "string"},
            "by": {"type": ["string", "null"]},
            "detail": {"type": "object"},
        },
    },
    "Case": {
        "type": "object",
        "description": "The full case: intake, routing decision and history (both partners after a transfer).",
        "required": ["case_id", "reference", "partner", "status", "routing", "intake", "history"],
        "properties": {
            "case_id": {"type": "string"},
            "reference": {"type": "string"},
            "partner": {"type": "string"},
            "status": {"enum": ["routed", "claimed", "scheduled", "closed"]},
            "routing": {"type": "object"},
            "language": {"type": "string"},
            "intake": {"type": "object"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "queued_at": {"type": "string"},
            "claimed_by": {"type": ["string", "null"]},
            "claimed_by_name": {"type": ["string", "null"]},
            "overdue": {"type": "boolean"},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEntry"}},
            "attention": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Attention"},
                "description": "Applicant SMS waiting for staff (a `2` reply, CANCEL).",
            },
        },
    },
    # Appointments (issue 4).
    "Attention": {
        "type": "object",
        "description": "An applicant's SMS staff must act on, open until the appointment is moved, cancelled or "
        "its attendance recorded: `cannot_come` (replied 2 to a reminder) or `cancel_opt_out` (sent CANCEL: "
        "no more SMS, call them).",
        "required": ["at", "reason", "appointment_id"],
        "properties": {
            "at": {"type": "string"},
            "reason": {"enum": ["cannot_come", "cancel_opt_out"]},
            "appointment_id": {"type": ["string", "null"]},
        },
    },
    "AppointmentView": {
        "type": "object",
        "required": ["appointment_id", "case_id", "staff_id", "start", "end", "duration_minutes", "mode", "status"],
        "properties": {
            "appointment_id": {"type": "string"},
            "case_id": {"type": "string"},
            "partner": {"type": "string"},
            "staff_id": {"type": "string", "description": "Whose calendar: the holder of the case."},
            "staff_name": {"type": "string"},
            "start": {"type": "string", "description": "UTC."},
            "start_local": {"type": "string", "description": "Europe/Berlin, with its offset."},
            "end": {"type": "string"},
            "end_local": {"type": "string"},
            "duration_minutes": {"type": "integer", "minimum": 15, "maximum": 480},
            "mode": {"enum": ["in_person", "online"]},
            "location": {"type": ["string", "null"]},
            "online_url": {"type": ["string", "null"]},
            "note": {"type": ["string", "null"]},
            "status": {"enum": ["booked", "cancelled", "attended", "no_show"]},
            "attended": {"type": ["boolean", "null"]},
            "attendance_recorded_at": {"type": ["string", "null"]},
            "cancelled_at": {"type": ["string", "null"]},
            "cancel_reason": {"type": ["string", "null"], "description": "staff, case_closed or erased."},
            "reschedules": {"type": "integer"},
            "booked_by": {"type": "string"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "upcoming": {"type": "boolean", "description": "List only: booked and not yet begun."},
            "applicant_reply": {
                "type": ["string", "null"],
                "description": "List only: the applicant's answer to a reminder, 1 (will come) or 2 (cannot come).",
            },
        },
    },
    "PlannedMessage": {
        "type": "object",
        "required": ["message_id", "kind", "status", "due_at"],
        "properties": {
            "message_id": {"type": "string"},
            "kind": {"enum": ["appointment_booked", "appointment_changed", "appointment_cancelled", "reminder"]},
            "status": {"type": "string", "description": "pending, or suppressed (with reason: opted out, country)."},
            "due_at": {"type": ["string", "null"], "description": "When the sweep sends it (never in quiet hours)."},
            "reason": {"type": ["string", "null"]},
        },
    },
    "AppointmentResult": {
        "type": "object",
        "required": ["appointment", "case_status", "messages", "sms_planned"],
        "properties": {
            "appointment": {"$ref": "#/components/schemas/AppointmentView"},
            "case_status": {"enum": ["routed", "claimed", "scheduled", "closed"]},
            "messages": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/PlannedMessage"},
                "description": "The SMS this change planned (none without SMS consent).",
            },
            "sms_planned": {"type": "boolean", "description": "false: the SMS could not be planned (logged)."},
        },
    },
    "AppointmentList": {
        "type": "object",
        "required": ["case_id", "case_status", "attention", "appointments"],
        "properties": {
            "case_id": {"type": "string"},
            "case_status": {"type": "string"},
            "attention": {"type": "array", "items": {"$ref": "#/components/schemas/Attention"}},
            "appointments": {"type": "array", "items": {"$ref": "#/components/schemas/AppointmentView"}},
        },
    },
    "CaseMessages": {
        "type": "object",
        "required": ["case_id", "sms_consent", "opted_out", "attention", "messages"],
        "properties": {
            "case_id": {"type": "string"},
            "sms_consent": {"type": "boolean", "description": "The applicant agreed to SMS and has not withdrawn."},
            "opted_out": {"type": "boolean", "description": "The number sent STOP (or CANCEL): nothing is sent."},
            "attention": {"type": "array", "items": {"$ref": "#/components/schemas/Attention"}},
            "messages": {
                "type": "array",
                "description": "Every SMS of the case, out and in, oldest first; no phone numbers.",
                "items": {
                    "type": "object",
                    "required": ["message_id", "direction", "kind", "status"],
                    "properties": {
                        "message_id": {"type": "string"},
                        "direction": {"enum": ["outbound", "inbound"]},
                        "kind": {"type": "string"},
                        "status": {
                            "type": "string",
                            "description": "pending, sending, queued, sent, delivered, undelivered, failed, "
                            "suppressed, cancelled, expired, unknown; received (inbound).",
                        },
                        "reason": {"type": ["string", "null"], "description": "Why failed/suppressed/cancelled."},
                        "error_code": {"type": ["string", "null"]},
                        "reply": {"type": ["string", "null"], "description": "1 or 2 to a reminder."},
                        "attention": {"type": ["string", "null"]},
                    },
                },
            },
        },
    },
    "AuditEntry": {
        "type": "object",
        "required": ["at", "staff_id", "staff_name", "partner", "action", "case_id", "detail"],
        "properties": {
            "at": {"type": "string"},
            "staff_id": {"type": "string"},
            "staff_name": {"type": "string"},
            "role": {"enum": ["staff", "coordinator"]},
            "partner": {"type": ["string", "null"], "description": "The institution of the staff member."},
            "action": {"type": "string", "description": "view, claim, release, transfer, close, reassign, …"},
            "case_id": {"type": "string"},
            "detail": {"type": "object", "description": "Ids and codes only; never the applicant's data."},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["case_id", "entries", "next_cursor"],
        "properties": {
            "case_id": {"type": "string"},
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
}

PARAMETERS: dict[str, dict[str, Any]] = {
    # Twilio webhooks (issue 4).
    "X-Twilio-Signature": {
        "name": "X-Twilio-Signature",
        "in": "header",
        "required": True,
        "description": "Twilio's HMAC of PUBLIC_BASE_URL + path + query and every form field; missing or wrong → 403.",
        "schema": {"type": "string"},
    },
    "SmsMessageId": {
        "name": "m",
        "in": "query",
        "required": False,
        "description": "Our message id, put into the StatusCallback URL we give Twilio with each message.",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
    "X-Status-Secret": {
        "name": "X-Status-Secret",
        "in": "header",
        "required": True,
        "description": "The secret of the applicant's status link (after `#<case_id>.`); wrong or missing → 404.",
        "schema": {"type": "string", "maxLength": 200},
    },
    "Idempotency-Key": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A repeat with the same key and body within 24 h returns the first response; "
        "another body with the same key returns 409.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]+$"},
    },
    "StaffPageLanguage": {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of the staff page; the browser's Accept-Language (else German) when omitted; "
        "any other value is a 404.",
        "schema": {"enum": ["de", "en"]},
    },
    # Staff workspace query parameters (issue 3).
    "QueueStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"enum": ["routed", "claimed", "closed"], "default": "routed"},
    },
    "Mine": {
        "name": "mine",
        "in": "query",
        "required": False,
        "description": "With status=claimed: only the caller's own cases.",
        "schema": {"enum": ["true", "false"]},
    },
    "QueuePartner": {
        "name": "partner",
        "in": "query",
        "required": False,
        "description": "Coordinators: whose queue (staff always see their own).",
        "schema": {"type": "string"},
    },
    "CoordinatorStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"enum": ["routed", "claimed", "closed", "transferred"], "default": "routed"},
    },
    "CoordinatorPartner": {
        "name": "partner",
        "in": "query",
        "required": False,
        "description": "One partner; all partners when omitted (overdue cases first).",
        "schema": {"type": "string"},
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The opaque next_cursor of the previous page.",
        "schema": {"type": "string"},
    },
    # Coordinator metrics (issue 7).
    "From": {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "First day (Europe/Berlin), included; default: 29 days before `to`.",
        "schema": {"type": "string", "format": "date"},
    },
    "To": {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "Last day (Europe/Berlin), included; default: today. At most 366 days in all.",
        "schema": {"type": "string", "format": "date"},
    },
    "MetricsFormat": {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "csv: one row per partner and a network row, flat columns, for spreadsheets.",
        "schema": {"enum": ["json", "csv"], "default": "json"},
    },
}

RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}

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
        responses={200: Body("The page.", {"type": "string"}, "text/html"), 304: Body("Not modified (ETag).")},
    ),
    Operation(
        "GET",
        "/{language}",
        "The intake page in one of the 11 intake languages, e.g. /ar (right to left).",
        "pages",
        responses={200: Body("The page.", {"type": "string"}, "text/html"), 304: Body("Not modified (ETag).")},
        errors=(404,),
    ),
    Operation(
        "GET",
        "/assets/{name}",
        "A stylesheet or script of the pages; `?v=<hash>` URLs may be cached for a year.",
        "pages",
        responses={200: Body("The file.", {"type": "string"}, "text/*"), 304: Body("Not modified (ETag).")},
        errors=(404,),
    ),
    Operation(
        "GET",
        "/schemas/{name}",
        "A JSON Schema of a request body, e.g. intake.schema.json: browsers validate with the server's rules.",
        "pages",
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
        parameters=("StaffPageLanguage",),
        responses={200: Body("The page.", {"type": "string"}, "text/html"), 304: Body("Not modified (ETag).")},
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
        responses={200: Body("The case, routed again.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/transfer",
        "Move the case to another partner's queue, with a reason.",
        "staff",
        body="transfer",
        responses={200: Body("The case, routed to the new partner.", "Case")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/close",
        "Close a claimed or scheduled case with an outcome.",
        "staff",
        body="close",
        responses={200: Body("The closed case.", "Case")},
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
            200: Body("The figures (JSON), or with format=csv a CSV file.", "Metrics"),
        },
        errors=(400, 503),
    ),
    Operation(
        "GET",
        "/status",
        "The applicant's status page: open the status link (`/status#<case_id>.<secret>`).",
        "pages",
        responses={200: Body("The page.", {"type": "string"}, "text/html"), 304: Body("Not modified (ETag).")},
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
        responses={201: Body("The appointment and the SMS planned for it.", "AppointmentResult")},
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
    ),
    Operation(
        "DELETE",
        "/staff/cases/{case_id}/appointments/{appointment_id}",
        "Cancel: reminders cancelled, the applicant told by SMS (`appointment_cancelled`).",
        "appointments",
        responses={200: Body("The cancelled appointment.", "AppointmentResult")},
        errors=(404, 409, 503),
    ),
    Operation(
        "POST",
        "/staff/cases/{case_id}/appointments/{appointment_id}/attendance",
        "Record whether the applicant came (no-show tracking), once the appointment has begun.",
        "appointments",
        body="attendance",
        responses={200: Body("The appointment with its attendance.", "AppointmentResult")},
        errors=(404, 409, 503),
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
        errors=(403,),
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
        errors=(403,),
    ),
)


def _component_name(schema_name: str) -> str:
    """intake → Intake, routing-rules → RoutingRules (the file stays the single source)."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", schema_name))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _embed(schema_name: str, components: dict[str, Any]) -> dict[str, str]:
    """Put schemas/<name>.schema.json under components once; return a $ref to it.

    `$id`/`$schema` are dropped and the file's own refs rewritten, so that `#/$defs/x` and
    `other.schema.json` resolve inside this document for every OpenAPI tool.
    """
    name = _component_name(schema_name)
    if name in components:
        return _ref(name)
    schema = copy.deepcopy(load_schema(schema_name))
    schema.pop("$id", None)
    schema.pop("$schema", None)
    components[name] = schema
    _rewrite_refs(schema, name, components)
    return _ref(name)


def _rewrite_refs(node: Any, owner: str, components: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite_refs(item, owner, components)
        return
    if not isinstance(node, dict):
        return
    target = node.get("$ref")
    if isinstance(target, str):
        file_part, _, pointer = target.partition("#")
        if file_part:
            other = file_part.rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".schema")
            node["$ref"] = _embed(other, components)["$ref"] + pointer
        else:
            node["$ref"] = f"#/components/schemas/{owner}{pointer}"
    for key, value in node.items():
        if key != "$ref":
            _rewrite_refs(value, owner, components)


def _schema(spec: str | dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(spec, dict):
        return spec
    if spec in SCHEMAS:
        return _ref(spec)
    return _embed(spec, components)


def is_secured(operation: Operation) -> bool:
    return not operation.public and operation.path.startswith(SECURED_PREFIXES)


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    names = re.findall(r"{([^}]+)}", operation.path)
    default = {"type": "string", "minLength": 1}
    return [
        {"name": n, "in": "path", "required": True, "schema": operation.path_schemas.get(n, default)} for n in names
    ]


def _operation_id(operation: Operation) -> str:
    words = re.sub(r"[^a-zA-Z0-9]+", "_", operation.path.replace("{", "by_")).strip("_")
    return f"{operation.method.lower()}_{words or 'root'}"


def _operation(operation: Operation, components: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": _operation_id(operation),
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.description:
        result["description"] = operation.description
    parameters = _path_parameters(operation) + [{"$ref": f"#/components/parameters/{p}"} for p in operation.parameters]
    if parameters:
        result["parameters"] = parameters
    errors = set(operation.errors)
    if operation.body:
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": _schema(operation.body, components)}}}
        errors |= {400, 413, 415}
    if operation.form:
        result["requestBody"] = {"required": True, "content": {FORM: {"schema": _schema(operation.form, components)}}}
    if is_secured(operation):
        result["security"] = [{BEARER: []}]
        errors |= {401, 403}
    responses: dict[str, Any] = {}
    for status, body in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": body.description}
        if body.schema is not None:
            response["content"] = {body.media_type: {"schema": _schema(body.schema, components)}}
        if body.headers:
            response["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in body.headers}
        responses[str(status)] = response
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    result["responses"] = responses
    return result


def _error_responses() -> dict[str, Any]:
    responses = {}
    for status, (name, description, schema) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
        if status == 503:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[name] = response
    return responses


def build_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    """The whole OpenAPI document (pure: same table → same document)."""
    components: dict[str, Any] = copy.deepcopy(SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, components)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MigraNet Intake API",
            "version": "1.0.0",
            "description": "Intake, routing and appointment reminders for the MigraNet counselling partners "
            "in Munich. Every error has the shape {error, code}; validation errors add "
            "errors: [{field, code, message}].",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "responses": _error_responses(),
            "parameters": copy.deepcopy(PARAMETERS),
            "headers": copy.deepcopy(RESPONSE_HEADERS),
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Staff and coordinator token (see `python -m chalicelib.cli staff-token`).",
                }
            },
        },
    }


@cache
def _built() -> dict[str, Any]:
    return build_document()


def document(base: str = "/") -> dict[str, Any]:
    """Built once per container; `servers` says where this API is mounted (e.g. /api on API Gateway)."""
    return {**_built(), "servers": [{"url": base}]}


def base_path(request_path: str | None, resource_path: str | None) -> str:
    """The stage prefix API Gateway puts before our paths: "/api/openapi.json" - "/openapi.json" → "/api"."""
    if request_path and resource_path and request_path.endswith(resource_path):
        return request_path[: -len(resource_path)] or "/"
    return "/"


def documented_routes(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, set[str]]:
    """Path → methods, to compare with Chalice's `app.routes`."""
    routes: dict[str, set[str]] = {}
    for operation in operations:
        routes.setdefault(operation.path, set()).add(operation.method.upper())
    return routes
