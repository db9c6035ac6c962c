"""What the OpenAPI document says beyond `schemas/`: response bodies, error shapes, parameters
and response headers (`schemas/` holds what clients send; chalicelib/openapi.py builds the document)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.appointments import ATTENTION_REASONS
from chalicelib.domain.reference import REFERENCE_AS_TYPED

_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}


def _applicant_appointment(**extra: dict[str, Any]) -> dict[str, Any]:
    """An appointment as the applicant's status shows it: when, plus `extra` (where, or when cancelled)."""
    return {
        "type": "object",
        "required": ["appointment_id", "start", "end", "duration_minutes", "mode", *extra],
        "properties": {
            "appointment_id": {"type": "string"},
            "start": {"type": "string", "description": "ISO 8601, UTC."},
            "end": {"type": "string"},
            "duration_minutes": {"type": "integer"},
            "mode": {"enum": ["in_person", "online"]},
            **extra,
        },
    }


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
            "sms": {
                "enum": ["planned", "not_requested", "not_possible"],
                "description": "The SMS asked for (consent.sms): `planned`; `not_possible` when the number is in a "
                "country SMS do not go to (SMS_ALLOWED_COUNTRIES; default EU/EEA, CH, UA): the partner calls "
                "or writes instead, and the case asks its staff to.",
            },
        },
    },
    "ApplicantStatus": {
        "type": "object",
        "required": [
            "case_id",
            "reference",
            "status",
            "partner",
            "partner_name",
            "appointments",
            "cancelled_appointments",
        ],
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
            "appointments": {
                "type": "array",
                "description": (
                    "Booked appointments not yet over (until their end, for someone running late), soonest "
                    "first; no cancelled or past ones."
                ),
                "items": _applicant_appointment(location=_OPTIONAL_TEXT, online_url=_OPTIONAL_TEXT),
            },
            "cancelled_appointments": {
                "type": "array",
                "description": "Appointments cancelled before their time, which is still ahead, soonest first.",
                "items": _applicant_appointment(cancelled_at=_OPTIONAL_TEXT),
            },
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
        "required": ["case_id", "reference", "partner", "status", "queued_at", "overdue", "attention"],
        "properties": {
            "case_id": {"type": "string"},
            "reference": {"type": "string"},
            "partner": {"type": "string"},
            "partner_name": {"type": "string", "description": "Coordinator view only."},
            "status": {"enum": ["routed", "claimed", "scheduled", "closed", "transferred"]},
            "queued_at": {"type": "string", "format": "date-time"},
            "due_at": {"type": "string", "description": "Routed rows: when the unclaimed-case SLA runs out."},
            "language": {"type": "string"},
            "profession_group": {"type": "string"},
            "goals": {"type": "array", "items": {"type": "string"}},
            "rule": {"type": "string"},
            "claimed_by": {"type": ["string", "null"]},
            "claimed_by_name": {"type": ["string", "null"]},
            "overdue": {"type": "boolean", "description": "Routed past the partner's SLA (working days)."},
            "attention": {
                "type": "boolean",
                "description": "A 'please check' flag waits on the case (its `attention` list says which).",
            },
        },
    },
    "Found": {
        "type": "object",
        "required": ["reference", "cases"],
        "properties": {
            "reference": {"type": "string", "description": "The reference as searched for (normalised)."},
            "cases": {"type": "array", "items": {"$ref": "#/components/schemas/QueueEntry"}},
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
            "routing": {
                "type": "object",
                "description": "The routing decision made at intake (a later transfer shows in partner and history).",
                "properties": {
                    "rule": {"type": "string"},
                    "partner": {"type": "string"},
                    "reason": {"type": "string", "description": "In the rules' English."},
                    "conditions": {
                        "type": ["array", "null"],
                        "description": "The reason read back into the rule's conditions, for pages in other "
                        "languages: [] for the fallback rule, null for a reason not in the rules' wording.",
                        "items": {
                            "type": "object",
                            "required": ["field", "test", "values"],
                            "properties": {
                                "field": {"type": "string", "description": "Intake field path."},
                                "test": {"enum": ["is", "contains"]},
                                "values": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                },
            },
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
                "description": "SMS waiting for staff (a `2` reply, CANCEL, an SMS that never arrived).",
            },
        },
    },
    # Appointments (issue 4).
    "Attention": {
        "type": "object",
        "description": "An SMS staff must act on, open until the appointment it names is moved, cancelled or "
        "its attendance recorded, or staff resolve it (POST /staff/cases/{case_id}/attention/resolve): "
        "`cannot_come` (replied 2 to a reminder), `cancel_opt_out` (sent CANCEL: no more SMS, call them) or "
        "`sms_not_delivered` (an SMS to the applicant finally failed: the number may be wrong; call or write) or "
        "`sms_not_possible` (the applicant asked for SMS, but their number is in a country SMS do not go to).",
        "required": ["at", "reason", "appointment_id"],
        "properties": {
            "at": {"type": "string"},
            "reason": {"enum": list(ATTENTION_REASONS)},
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
            "sms_planned": {
                "type": "boolean",
                "description": "false: the SMS could not be planned (logged). Busy storage in that step is a 503 "
                "instead, whose retry (the same request) is answered as done and plans them.",
            },
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
        "required": ["case_id", "sms_consent", "opted_out", "confirmation_pending", "attention", "messages"],
        "properties": {
            "case_id": {"type": "string"},
            "sms_consent": {"type": "boolean", "description": "The applicant agreed to SMS and has not withdrawn."},
            "opted_out": {"type": "boolean", "description": "The number sent STOP (or CANCEL): nothing is sent."},
            "confirmation_pending": {
                "type": "boolean",
                "description": "The intake_received SMS is not planned yet: the next send_due_messages run "
                "(every 5 minutes; after 08:00 at night) plans and sends it.",
            },
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
            "role": {
                "enum": ["staff", "coordinator", "applicant", "system"],
                "description": "Who acted: staff or a coordinator (signed in); `applicant` through the status link"
                " (export, erasure); `system` a schedule (retention, appointment upkeep).",
            },
            "partner": {
                "type": ["string", "null"],
                "description": "The institution of the staff member; null otherwise.",
            },
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
        "description": "A repeat with the same key and body returns the first response (for an intake "
        "within 24 h; for a booking on that case, as it stands now); another body with the same key returns 409.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]+$"},
    },
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The ETag of the copy the browser holds: 304 without a body when it is still current.",
        "schema": {"type": "string"},
    },
    "StaticVersion": {
        "name": "v",
        "in": "query",
        "required": False,
        "description": "The file's content hash, as the pages link it: the answer may then be cached for a year "
        "(immutable). Any other value gets the same file, revalidated like one without `v`.",
        "schema": {"type": "string"},
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
        "description": "claimed: every held case (claimed or scheduled); scheduled: those with an appointment to come.",
        "schema": {"enum": ["routed", "claimed", "scheduled", "closed"], "default": "routed"},
    },
    "Reference": {
        "name": "reference",
        "in": "query",
        "required": True,
        "description": "A case reference as heard: its 8 characters in either case, with or without spaces "
        "and the dash (K7P3-Q9XA, k7p3 q9xa).",
        "schema": {"type": "string", "pattern": REFERENCE_AS_TYPED},
    },
    "Mine": {
        "name": "mine",
        "in": "query",
        "required": False,
        "description": "With status=claimed or scheduled: only the caller's own cases "
        "(mine=true with another status is a 400 `invalid_choice`).",
        "schema": {"enum": ["true", "false"], "x-format": "needs-held-status"},
    },
    "QueuePartner": {
        "name": "partner",
        "in": "query",
        "required": False,
        "description": "Coordinators: whose queue (staff always see their own). A partner id from "
        "GET /partners; another value is a 400 `unknown_partner`.",
        "schema": {"type": "string", "x-format": "partner-id"},
    },
    "CoordinatorStatus": {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"enum": ["routed", "claimed", "scheduled", "closed", "transferred"], "default": "routed"},
    },
    "CoordinatorPartner": {
        "name": "partner",
        "in": "query",
        "required": False,
        "description": "One partner (an id from GET /partners; another value is a 400 `unknown_partner`); "
        "all partners when omitted (overdue cases first).",
        "schema": {"type": "string", "x-format": "partner-id"},
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
        "description": "The opaque next_cursor of the previous page; any other value is a 400 `invalid_cursor`.",
        "schema": {"type": "string", "x-format": "issued-cursor"},
    },
    # Coordinator metrics (issue 7).
    "From": {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "First day (Europe/Berlin), included; default: 29 days before `to`. "
        "Not after `to` (else a 400 `after_to`); at most 366 days in all (else a 400 `range_too_long`); "
        "days from 2000-01-01 to 2999-12-31 (else a 400 `out_of_range`).",
        "schema": {"type": "string", "format": "date", "x-format": "report-range"},
    },
    "To": {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "Last day (Europe/Berlin), included; default: today. At most 366 days in all.",
        "schema": {"type": "string", "format": "date", "x-format": "report-range"},
    },
    "MetricsFormat": {
        "name": "format",
        "in": "query",
        "required": False,
        "description": (
            "csv: one row per partner and a network row, flat columns, for spreadsheets (RFC 4180, commas,"
            " decimal points). csv-excel-de: the same table for Excel with German regional settings"
            " (UTF-8 byte order mark, semicolons, decimal commas)."
        ),
        "schema": {"enum": ["json", "csv", "csv-excel-de"], "default": "json"},
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
