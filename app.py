"""HTTP routes and schedules. Each route parses, calls one service function, maps errors."""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Rate, Response
from chalice.app import DynamoDBEvent, Request

from chalicelib import bootstrap, cold_start, logs
from chalicelib.config import CASES_STREAM_ARN, settings
from chalicelib.domain.staff import StaffIdentity
from chalicelib.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RetryableError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from chalicelib.invocation import invocable_by_name
from chalicelib.web import ANY_CONTENT_TYPE, chalice_error_code, parse_json_body, request_log_line

if TYPE_CHECKING:
    from chalicelib.pages.responses import PageResult

# A cold Lambda pays for every import: what only some routes need (PyJWT and cryptography for staff
# tokens, the OpenAPI document, the HTML pages) is imported inside them, not here (issue 8).


class MigraNetApp(Chalice):
    """Chalice whose routes answer domain errors with their HTTP status.

    Chalice turns any exception a view raises into a 500 before middleware sees it,
    so the mapping has to sit around each view; every `@app.route` gets it.
    """

    def route(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().route(path, **kwargs)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def guarded(*args: Any, **view_kwargs: Any) -> Any:
                try:
                    _ids_that_can_exist(view_kwargs)
                    return view(*args, **view_kwargs)
                except DomainError as error:
                    return error_response(error)

            register(guarded)
            return view

        return decorator


# Our ids are 32-36 characters. DynamoDB refuses a lookup by a key over 1,024 bytes (sort key) or
# 2,048 (partition key) with a ValidationException, which would surface as a 500: such an id
# cannot exist, so it is answered 404 before any storage call (moto does not check the limit).
MAX_ID_BYTES = 256


def _ids_that_can_exist(path_params: dict[str, Any]) -> None:
    for name, value in path_params.items():
        if name.endswith("_id") and isinstance(value, str) and len(value.encode()) > MAX_ID_BYTES:
            raise NotFoundError(f"No {name.removesuffix('_id')} has this id.")


cold_start.pause_collection()  # until the first event is handled: see chalicelib/cold_start.py
logs.install()
app = MigraNetApp(app_name="migranet-intake")
app.register_middleware(cold_start.resume_after_first_event, "all")
STAFF_IDENTITY = "staff_identity"  # key in event.context where staff_sign_in leaves the verified caller
_current_staff: contextvars.ContextVar[StaffIdentity | None] = contextvars.ContextVar("staff", default=None)
app.log.setLevel(logging.INFO)

# Most specific first: IdempotencyConflictError is a ConflictError.
_STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (ValidationError, 400),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (RetryableError, 503),
]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def error_response(error: DomainError) -> Response:
    status = next((code for kind, code in _STATUS_BY_ERROR if isinstance(error, kind)), 500)
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    if isinstance(error, ValidationError):
        body["errors"] = [e.as_dict() for e in error.errors]
    body.update({k: v for k, v in error.detail.items() if k != "field"})
    headers = {}
    if isinstance(error, RetryableError):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, UnauthorizedError):
        # RFC 6750: a request without credentials gets the bare challenge, a bad token the error.
        challenge = 'Bearer realm="migranet-staff"'
        headers["WWW-Authenticate"] = challenge + ("" if error.code == "token_missing" else ', error="invalid_token"')
    return json_response(body, status, headers)


@app.middleware("http")
def request_log(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One JSON line per request (route, status, latency, case id), redacted; the outermost HTTP middleware."""
    started = time.perf_counter()
    response: Response | None = None
    try:
        response = get_response(event)
        return response
    finally:
        logs.emit(request_log_line(event, response, time.perf_counter() - started))
        logs.forget_sensitive()


@app.middleware("http")
def errors_in_one_shape(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Domain errors become their HTTP status; Chalice's own errors get our error shape."""
    try:
        response = get_response(event)
    except DomainError as error:
        return error_response(error)
    except Exception:
        app.log.exception("unhandled error")
        return json_response({"error": "Internal error; it has been logged.", "code": "internal"}, 500)
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        code = str(response.body["Code"])
        response.body = {"error": response.body.get("Message", code), "code": chalice_error_code(code)}
    return response


def _needs_staff_token(request: Request) -> bool:
    """Every /staff and /coordinator route, except the staff page itself and its assets."""
    path, method = request.path or "", request.method
    if method == "OPTIONS" or path.startswith("/staff/assets/"):
        return False
    if method == "GET" and path in ("/staff", "/staff/"):
        return False
    return path.startswith(("/staff/", "/coordinator/")) or path in ("/staff", "/coordinator")


@app.middleware("http")
def staff_sign_in(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One verification path for chalice local, the test client and Lambda: 401 without a valid
    token, 403 for staff on /coordinator; the identity reaches the route in event.context."""
    if not _needs_staff_token(event):
        return get_response(event)
    from chalicelib.adapters.tokens import bearer_token, verify_token

    try:
        identity = verify_token(bearer_token(event.headers.get("authorization")), settings())
        if event.path.startswith("/coordinator") and not identity.is_coordinator:
            raise ForbiddenError("Only network coordinators can use /coordinator endpoints.")
    except (UnauthorizedError, ForbiddenError, RetryableError) as error:
        return error_response(error)
    event.context[STAFF_IDENTITY] = identity
    # Also per thread: Chalice keeps `app.current_request` on the app object, so under chalice
    # local's threaded server a route could read a neighbour's request; a ContextVar cannot mix.
    handed_over = _current_staff.set(identity)
    try:
        return get_response(event)
    finally:
        _current_staff.reset(handed_over)


def _staff() -> StaffIdentity:
    """The caller verified by staff_sign_in for this very request."""
    identity = _current_staff.get()
    if identity is None:
        raise RuntimeError("staff route reached without staff_sign_in")
    return identity


def _query() -> dict[str, str]:
    return dict(app.current_request.query_params or {})


def _json_body() -> Any:
    request = app.current_request
    body = parse_json_body(request.headers.get("content-type"), request.raw_body, settings().max_body_bytes)
    logs.remember_sensitive(logs.personal_values(body))
    return body


@app.route("/intake", methods=["POST"], content_types=ANY_CONTENT_TYPE, cors=True)
def post_intake() -> Response:
    key = app.current_request.headers.get("idempotency-key")
    result = bootstrap.intake_service().submit(_json_body(), key)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return json_response(result.body, result.status_code, headers)


@app.route("/routing/preview", methods=["POST"], content_types=ANY_CONTENT_TYPE, cors=True)
def post_routing_preview() -> Response:
    return json_response(bootstrap.intake_service().preview(_json_body()))


def _status_secret() -> str | None:
    return app.current_request.headers.get("x-status-secret")


@app.route("/applicant/{case_id}", methods=["GET"], cors=True)
def get_applicant_status(case_id: str) -> Response:
    return json_response(bootstrap.applicant_service().status(case_id, _status_secret()))


@app.route("/applicant/{case_id}/export", methods=["GET"], cors=True)
def get_applicant_export(case_id: str) -> Response:
    export = bootstrap.applicant_service().export(case_id, _status_secret())
    disposition = f'attachment; filename="migranet-{case_id}.json"'
    return json_response(export, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@app.route("/applicant/{case_id}/appointments/{appointment_id}/calendar", methods=["GET"], cors=True)
def get_applicant_appointment_calendar(case_id: str, appointment_id: str) -> Response:
    day, ics = bootstrap.applicant_service().calendar(case_id, _status_secret(), appointment_id)
    headers = {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": f'attachment; filename="migranet-{day.isoformat()}.ics"',
        "Cache-Control": "no-store",
    }
    return Response(body=ics, status_code=200, headers=headers)


@app.route("/applicant/{case_id}", methods=["DELETE"], cors=True)
def delete_applicant_data(case_id: str) -> Response:
    return json_response(bootstrap.applicant_service().erase(case_id, _status_secret()))


@app.route("/partners", methods=["GET"], cors=True)
def get_partners() -> Response:
    partners = bootstrap.directory().partners().values()
    return json_response({"partners": [p.public_dict() for p in partners]})


@app.route("/openapi.json", methods=["GET"], cors=True)
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


@app.route("/intake", methods=["GET"], cors=True)
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


@app.route("/schemas/{name}", methods=["GET"], cors=True)
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
    return json_response(bootstrap.staff_service().queue(_staff(), _query()))


@app.route("/staff/cases/{case_id}", methods=["GET"])
def get_staff_case(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().case_view(_staff(), case_id))


@app.route("/staff/cases/{case_id}/audit", methods=["GET"])
def get_staff_case_audit(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().audit_trail(_staff(), case_id, _query()))


@app.route("/staff/cases/{case_id}/claim", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_claim(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().claim(_staff(), case_id).as_dict())


@app.route("/staff/cases/{case_id}/release", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_release(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().release(_staff(), case_id).as_dict())


@app.route("/staff/cases/{case_id}/transfer", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_transfer(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().transfer(_staff(), case_id, _json_body()).as_dict())


@app.route("/staff/cases/{case_id}/close", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_close(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().close(_staff(), case_id, _json_body()).as_dict())


@app.route("/coordinator/cases", methods=["GET"])
def get_coordinator_cases() -> Response:
    return json_response(bootstrap.coordinator_service().cases(_staff(), _query()))


@app.route("/coordinator/cases/{case_id}/reassign", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_coordinator_reassign(case_id: str) -> Response:
    return json_response(bootstrap.staff_service().reassign(_staff(), case_id, _json_body()).as_dict())


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
    return json_response(bootstrap.appointment_service().appointments(_staff(), case_id))


@app.route("/staff/cases/{case_id}/appointments", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_staff_appointment(case_id: str) -> Response:
    key = app.current_request.headers.get("idempotency-key")
    booked, replayed = bootstrap.appointment_service().book(_staff(), case_id, _json_body(), key)
    return json_response(booked, 201, {"Idempotent-Replayed": "true"} if replayed else {})


@app.route("/staff/cases/{case_id}/appointments/{appointment_id}", methods=["PATCH"], content_types=ANY_CONTENT_TYPE)
def patch_staff_appointment(case_id: str, appointment_id: str) -> Response:
    service = bootstrap.appointment_service()
    return json_response(service.reschedule(_staff(), case_id, appointment_id, _json_body()))


@app.route("/staff/cases/{case_id}/appointments/{appointment_id}", methods=["DELETE"])
def delete_staff_appointment(case_id: str, appointment_id: str) -> Response:
    return json_response(bootstrap.appointment_service().cancel(_staff(), case_id, appointment_id))


@app.route(
    "/staff/cases/{case_id}/appointments/{appointment_id}/attendance",
    methods=["POST"],
    content_types=ANY_CONTENT_TYPE,
)
def post_staff_attendance(case_id: str, appointment_id: str) -> Response:
    service = bootstrap.appointment_service()
    return json_response(service.record_attendance(_staff(), case_id, appointment_id, _json_body()))


@app.route("/staff/cases/{case_id}/messages", methods=["GET"])
def get_staff_case_messages(case_id: str) -> Response:
    return json_response(bootstrap.appointment_service().messages(_staff(), case_id))


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
    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis() / 1000 if hasattr(context, "get_remaining_time_in_millis") else 0
    budget = max(5.0, remaining - 10) if remaining else 240.0
    report = bootstrap.messaging_service().send_due(budget_seconds=budget).as_dict()
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
    export = bootstrap.applicant_service().coordinator_export(_staff(), case_id)
    disposition = f'attachment; filename="migranet-{case_id}.json"'
    return json_response(export, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


@app.route("/coordinator/cases/{case_id}/erase", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_coordinator_erase(case_id: str) -> Response:
    """Erase an applicant's personal data (GDPR Art. 17), on their request; audited."""
    return json_response(bootstrap.applicant_service().coordinator_erase(_staff(), case_id, _json_body()))


@app.route("/coordinator/metrics", methods=["GET"])
def get_coordinator_metrics() -> Response:
    """Per partner and network-wide figures for a range of Berlin dates; `format=csv` for spreadsheets."""
    result = bootstrap.reporting_service().metrics(_staff(), _query())
    if isinstance(result.body, str):
        disposition = f'attachment; filename="{result.filename}"'
        headers = {"Content-Type": f"{result.media_type}; charset=utf-8", "Content-Disposition": disposition}
        return Response(body=result.body, status_code=200, headers={**headers, "Cache-Control": "no-store"})
    return json_response(result.body, headers={"Cache-Control": "no-store"})


@invocable_by_name
@app.schedule(Rate(1, unit=Rate.HOURS))
def enforce_retention(event: Any) -> dict[str, Any]:
    """Erase personal data whose retention time ran out (closed + RETENTION_DAYS_AFTER_CLOSE, unclaimed +
    RETENTION_DAYS_UNCLAIMED); the anonymised records stay for statistics. DynamoDB TTL is only a backstop."""
    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis() / 1000 if hasattr(context, "get_remaining_time_in_millis") else 0
    budget = max(5.0, remaining - 10) if remaining else 240.0
    report = bootstrap.retention_service().enforce(bootstrap.clock().now(), budget_seconds=budget).as_dict()
    logs.emit({"event": "retention.enforced", **report})
    return report
