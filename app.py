"""HTTP routes and schedules. Each route parses, calls one service function, maps errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalice import Rate, Response
from chalice.app import DynamoDBEvent

from chalicelib import bootstrap, cold_start, logs
from chalicelib.config import CASES_STREAM_ARN, settings
from chalicelib.http_app import APP_NAME, HTTP_MIDDLEWARE, PUBLIC_CORS, MigraNetApp, current_staff, json_response
from chalicelib.invocation import invocable_by_name, lambda_time_budget
from chalicelib.web import ANY_CONTENT_TYPE, parse_json_body

if TYPE_CHECKING:
    from chalicelib.pages.responses import PageResult

# A cold Lambda pays for every import: what only some routes need (PyJWT and cryptography for staff
# tokens, the OpenAPI document, the HTML pages) is imported inside them, not here (issue 8).

cold_start.pause_collection()  # until the first event is handled: see chalicelib/cold_start.py
logs.install()
app = MigraNetApp(app_name=APP_NAME)
app.register_middleware(cold_start.resume_after_first_event, "all")
for middleware in HTTP_MIDDLEWARE:  # the request log outermost, then errors, then staff sign-in
    app.register_middleware(middleware, "http")
app.log.setLevel(logging.INFO)


def _query() -> dict[str, str]:
    return dict(app.current_request.query_params or {})


def _json_body() -> Any:
    request = app.current_request
    body = parse_json_body(request.headers.get("content-type"), request.raw_body, settings().max_body_bytes)
    logs.remember_sensitive(logs.personal_values(body))
    return body


@app.route("/intake", methods=["POST"], content_types=ANY_CONTENT_TYPE, cors=PUBLIC_CORS)
def post_intake() -> Response:
    key = app.current_request.headers.get("idempotency-key")
    result = bootstrap.intake_service().submit(_json_body(), key)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return json_response(result.body, result.status_code, headers)


@app.route("/routing/preview", methods=["POST"], content_types=ANY_CONTENT_TYPE, cors=PUBLIC_CORS)
def post_routing_preview() -> Response:
    return json_response(bootstrap.intake_service().preview(_json_body()))


def _status_secret() -> str | None:
    return app.current_request.headers.get("x-status-secret")


@app.route("/applicant/{case_id}", methods=["GET"], cors=PUBLIC_CORS)
def get_applicant_status(case_id: str) -> Response:
    return json_response(bootstrap.applicant_service().status(case_id, _status_secret()))


@app.route("/applicant/{case_id}/export", methods=["GET"], cors=PUBLIC_CORS)
def get_applicant_export(case_id: str) -> Response:
    export = bootstrap.applicant_service().export(case_id, _status_secret())
    disposition = f'attachment; filename="migranet-{case_id}.json"'
    return json_response(export, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@app.route("/applicant/{case_id}/appointments/{appointment_id}/calendar", methods=["GET"], cors=PUBLIC_CORS)
def get_applicant_appointment_calendar(case_id: str, appointment_id: str) -> Response:
    day, ics = bootstrap.applicant_service().calendar(case_id, _status_secret(), appointment_id)
    headers = {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": f'attachment; filename="migranet-{day.isoformat()}.ics"',
        "Cache-Control": "no-store",
    }
    return Response(body=ics, status_code=200, headers=headers)


@app.route("/applicant/{case_id}", methods=["DELETE"], cors=PUBLIC_CORS)
def delete_applicant_data(case_id: str) -> Response:
    return json_response(bootstrap.applicant_service().erase(case_id, _status_secret()))


@app.route("/partners", methods=["GET"], cors=PUBLIC_CORS)
def get_partners() -> Response:
    partners = bootstrap.directory().partners().values()
    return json_response({"partners": [p.public_dict() for p in partners]})


@app.route("/openapi.json", methods=["GET"], cors=PUBLIC_CORS)
def get_openapi() -> Response:
    from chalicelib import openapi

    context = app.current_request.context or {}
    return json_response(openapi.document(openapi.base_path(context.get("path"), context.get("resourcePath"))))


def _page_response(result: PageResult) -> Response:
    return Response(body=result.body, status_code=result.status, headers=result.headers)


@app.route("/", methods=["GET"])
def get_intake_page_negotiated() -> Response:
    """The intake page in the browser's language (Accept-Language), German when none fits."""
    return _negotiated_intake_page()


@app.route("/intake", methods=["GET"], cors=PUBLIC_CORS)
def get_intake_page_at_api_path() -> Response:
    """A browser opening the form's API path (a printed or shared link) gets the form, not a 405."""
    return _negotiated_intake_page()


def _negotiated_intake_page() -> Response:
    from chalicelib.pages import responses as pages

    request = app.current_request
    return _page_response(
        pages.intake_page(
            None,
            accept_language=request.headers.get("accept-language"),
            context=request.context,
            if_none_match=request.headers.get("if-none-match"),
        )
    )


@app.route("/{language}", methods=["GET"])
def get_intake_page(language: str) -> Response:
    from chalicelib.pages import responses as pages

    request = app.current_request
    return _page_response(
        pages.intake_page(
            language,
            accept_language=None,
            context=request.context,
            if_none_match=request.headers.get("if-none-match"),
        )
    )


@app.route("/assets/{name}", methods=["GET"])
def get_asset(name: str) -> Response:
    from chalicelib.pages import responses as pages

    request = app.current_request
    version = (request.query_params or {}).get("v")
    return _page_response(pages.asset_file(name, version=version, if_none_match=request.headers.get("if-none-match")))


@app.route("/schemas/{name}", methods=["GET"], cors=PUBLIC_CORS)
def get_schema(name: str) -> Response:
    """The JSON Schemas clients validate with (the intake page runs the same one as the server)."""
    from chalicelib.pages import responses as pages

    request = app.current_request
    version = (request.query_params or {}).get("v")
    return _page_response(
        pages.schema_document(name, version=version, if_none_match=request.headers.get("if-none-match"))
    )


@app.route("/staff", methods=["GET"])
def get_staff_page() -> Response:
    """The staff workspace page (issue 5); staff_sign_in lets it through: the page holds no data."""
    from chalicelib.pages import responses as pages

    request = app.current_request
    return _page_response(
        pages.staff_page(
            lang=(request.query_params or {}).get("lang"),
            accept_language=request.headers.get("accept-language"),
            context=request.context,
            settings=settings(),
            if_none_match=request.headers.get("if-none-match"),
        )
    )


# --- staff workspace (issue 3): every route below is behind staff_sign_in ----------------


@app.route("/staff/queue", methods=["GET"])
def get_staff_queue() -> Response:
    return json_response(bootstrap.staff_service().queue(current_staff(), _query()))


@app.route("/staff/cases", methods=["GET"])
def get_staff_case_by_reference() -> Response:
    return json_response(bootstrap.staff_service().find(current_staff(), _query()))


@app.route("/staff/cases/{case_id}", methods=["GET"])
def get_staff_case(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().case_view(current_staff(), case_id))


@app.route("/staff/cases/{case_id}/audit", methods=["GET"])
def get_staff_case_audit(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().audit_trail(current_staff(), case_id, _query()))


@app.route("/staff/cases/{case_id}/claim", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_claim(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().claim(current_staff(), case_id).as_dict())


@app.route("/staff/cases/{case_id}/release", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_release(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().release(current_staff(), case_id).as_dict())


@app.route("/staff/cases/{case_id}/transfer", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_transfer(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().transfer(current_staff(), case_id, _json_body()).as_dict())


@app.route("/staff/cases/{case_id}/close", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_close(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().close(current_staff(), case_id, _json_body()).as_dict())


@app.route("/staff/cases/{case_id}/attention/resolve", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_resolve_attention(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().resolve_attention(current_staff(), case_id, _json_body()))


@app.route("/coordinator/cases", methods=["GET"])
def get_coordinator_cases() -> Response:
    return json_response(bootstrap.coordinator_service().cases(current_staff(), _query()))


@app.route("/coordinator/cases/{case_id}/reassign", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_coordinator_reassign(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().reassign(current_staff(), case_id, _json_body()).as_dict())


@invocable_by_name
@app.schedule(Rate(15, unit=Rate.MINUTES))
def mark_overdue_cases(event: Any) -> dict[str, int]:
    """Flag routed cases past their partner's SLA (working days, Europe/Berlin); idempotent."""
    result = bootstrap.coordinator_service().mark_overdue_cases(bootstrap.clock().now())
    logs.emit({"event": "sla.marked_overdue", **result})
    return result


# --- appointments (issue 4): holder of the case or a coordinator; 404 across partners ---------


@app.route("/staff/cases/{case_id}/appointments", methods=["GET"])
def get_staff_appointments(case_id: str) -> Response:
    return json_response(bootstrap.appointment_service().appointments(current_staff(), case_id))


@app.route("/staff/cases/{case_id}/appointments", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_appointment(case_id: str) -> Response:
    key = app.current_request.headers.get("idempotency-key")
    booked, replayed = bootstrap.appointment_service().book(current_staff(), case_id, _json_body(), key)
    return json_response(booked, 201, {"Idempotent-Replayed": "true"} if replayed else {})


@app.route("/staff/cases/{case_id}/appointments/{appointment_id}", methods=["PATCH"], content_types=ANY_CONTENT_TYPE)
def patch_staff_appointment(case_id: str, appointment_id: str) -> Response:
    service = bootstrap.appointment_service()
    return json_response(service.reschedule(current_staff(), case_id, appointment_id, _json_body()))


@app.route("/staff/cases/{case_id}/appointments/{appointment_id}", methods=["DELETE"])
def delete_staff_appointment(case_id: str, appointment_id: str) -> Response:
    return json_response(bootstrap.appointment_service().cancel(current_staff(), case_id, appointment_id))


@app.route(
    "/staff/cases/{case_id}/appointments/{appointment_id}/attendance",
    methods=["POST"],
    content_types=ANY_CONTENT_TYPE,
)
def post_staff_attendance(case_id: str, appointment_id: str) -> Response:
    service = bootstrap.appointment_service()
    return json_response(service.record_attendance(current_staff(), case_id, appointment_id, _json_body()))


@app.route("/staff/cases/{case_id}/messages", methods=["GET"])
def get_staff_case_messages(case_id: str) -> Response:
    return json_response(bootstrap.appointment_service().messages(current_staff(), case_id))


@invocable_by_name
@app.schedule(Rate(5, unit=Rate.MINUTES))
def settle_past_appointments(event: Any) -> dict[str, int]:
    """Cases whose last upcoming appointment has begun go from `scheduled` back to `claimed`."""
    result = bootstrap.appointment_upkeep().settle_passed()
    logs.emit({"event": "appointments.settled", **result})
    return result


@app.on_dynamodb_record(stream_arn=CASES_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON")
def announce_routed_cases(event: DynamoDBEvent) -> dict[str, int]:
    """`case.routed` for each case an intake or transfer just stored (the cases table's stream)."""
    report = bootstrap.announce_routed_cases(event.to_dict().get("Records") or [])
    logs.emit({"event": "partner_notices.announced", **report})
    return report


@invocable_by_name
@app.schedule(Rate(1, unit=Rate.MINUTES))
def notify_partners(event: Any) -> dict[str, int | bool]:
    """The safety net for `case.routed`: notices the stream could not send or clear (the outbox)."""
    report = bootstrap.notice_service().deliver(budget_seconds=45.0)
    logs.emit({"event": "partner_notices", **report})
    return report


# --- SMS (issue 4) --------------------------------------------------------------------------


@invocable_by_name
@app.schedule(Rate(5, unit=Rate.MINUTES))
def send_due_messages(event: Any) -> dict[str, Any]:
    """Send the SMS that are due (claim, send once, record Twilio's SID); stops before Lambda's time runs out."""
    report = bootstrap.messaging_service().send_due(budget_seconds=lambda_time_budget(event)).as_dict()
    logs.emit({"event": "sms.send_due", **report})
    return report


def _twilio_webhook() -> Any:
    from chalicelib.adapters.sms.webhook import twilio_webhook

    return twilio_webhook(app.current_request, settings().public_base_url)


def _forged() -> Response:
    return json_response({"error": "Missing or invalid X-Twilio-Signature.", "code": "invalid_signature"}, 403)


@app.route("/sms/inbound", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_sms_inbound() -> Response:
    """Twilio's incoming-SMS webhook: STOP/START/HELP, replies 1/2 to reminders; answers TwiML."""
    from chalicelib.services.messaging_ports import WebhookSignatureError

    try:
        twiml = bootstrap.messaging_service().handle_inbound(_twilio_webhook())
    except WebhookSignatureError:
        return _forged()
    return Response(body=twiml, status_code=200, headers={"Content-Type": "text/xml; charset=utf-8"})


@app.route("/sms/status", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_sms_status() -> Response:
    """Twilio's status callback: queued, sent, delivered, undelivered, failed (with error code)."""
    from chalicelib.services.messaging_ports import WebhookSignatureError

    try:
        bootstrap.messaging_service().handle_status(_twilio_webhook())
    except WebhookSignatureError:
        return _forged()
    return Response(
        body='<?xml version="1.0" encoding="UTF-8"?><Response/>',
        status_code=200,
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )


# --- data protection and reporting (issue 7) --------------------------------------------------


@app.route("/status", methods=["GET"])
def get_status_page() -> Response:
    """The applicant's status page; the case id and secret stay in the URL fragment (never sent here)."""
    from chalicelib.pages.status_page import status_page

    request = app.current_request
    return _page_response(
        status_page(
            accept_language=request.headers.get("accept-language"),
            context=request.context,
            if_none_match=request.headers.get("if-none-match"),
        )
    )


@app.route("/coordinator/cases/{case_id}/export", methods=["GET"])
def get_coordinator_export(case_id: str) -> Response:
    """Everything stored about an applicant (GDPR Art. 15), on their request; audited."""
    export = bootstrap.applicant_service().coordinator_export(current_staff(), case_id)
    disposition = f'attachment; filename="migranet-{case_id}.json"'
    return json_response(export, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@app.route("/coordinator/cases/{case_id}/erase", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_coordinator_erase(case_id: str) -> Response:
    """Erase an applicant's personal data (GDPR Art. 17), on their request; audited."""
    return json_response(bootstrap.applicant_service().coordinator_erase(current_staff(), case_id, _json_body()))


@app.route("/coordinator/metrics", methods=["GET"])
def get_coordinator_metrics() -> Response:
    """Per partner and network-wide figures for a range of Berlin dates; `format=csv` for spreadsheets."""
    result = bootstrap.reporting_service().metrics(current_staff(), _query())
    if isinstance(result.body, str):
        disposition = f'attachment; filename="{result.filename}"'
        headers = {"Content-Type": f"{result.media_type}; charset=utf-8", "Content-Disposition": disposition}
        return Response(body=result.body, status_code=200, headers={**headers, "Cache-Control": "no-store"})
    return json_response(result.body, headers={"Cache-Control": "no-store"})


@invocable_by_name
@app.schedule(Rate(1, unit=Rate.HOURS))
def enforce_retention(event: Any) -> dict[str, Any]:
    """Erase personal data whose retention time ran out (closed + RETENTION_DAYS_AFTER_CLOSE, unclaimed +
    RETENTION_DAYS_UNCLAIMED, claimed once and idle + RETENTION_DAYS_INACTIVE); the anonymised records stay
    for statistics. DynamoDB TTL is only a backstop."""
    budget = lambda_time_budget(event)
    report = bootstrap.retention_service().enforce(bootstrap.clock().now(), budget_seconds=budget).as_dict()
    logs.emit({"event": "retention.enforced", **report})
    return report
