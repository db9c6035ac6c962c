"""What every HTTP route shares: domain errors as HTTP answers, the request log, staff sign-in.

app.py registers these on its application and keeps only the routes and schedules.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from chalice import Chalice, CORSConfig, Response
from chalice.app import Request

from chalicelib import logs
from chalicelib.config import settings
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
from chalicelib.web import chalice_error_code, request_log_line

APP_NAME = "migranet-intake"
# Chalice's app.log is this logger; the middlewares below log through it without holding the app.
log = logging.getLogger(APP_NAME)


# The public routes answer other origins too (a partner's own site may post the form). Beyond
# Chalice's defaults, a browser there must be allowed to send the headers these routes read, and
# to read the ones they answer with.
PUBLIC_CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Idempotency-Key", "X-Status-Secret", "If-None-Match"],
    expose_headers=["Retry-After", "ETag", "Content-Disposition", "Idempotent-Replayed"],
    max_age=600,
)


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


# Answers that may hold an applicant's data (or their status link's secret): no browser, proxy or
# CDN may keep a copy. Everything else (pages, assets, partners, schemas) sets its own caching.
PRIVATE_ROUTES = ("/staff/", "/coordinator/", "/applicant/", "/sms/")
PRIVATE_EXACT = ("/intake",)


def not_stored_if_private(event: Request, response: Response) -> Response:
    """`Cache-Control: no-store` on an answer of a route in PRIVATE_ROUTES that sets none itself.

    Applied inside errors_in_one_shape rather than as a middleware of its own: as a fourth Chalice
    middleware (even one that only passed the request on) it added ~30 ms to a cold start's first
    request, 1.2x to 1.4x the baseline in bench section 3; why, not found."""
    path = event.path or ""
    headers = response.headers
    if (path.startswith(PRIVATE_ROUTES) or path in PRIVATE_EXACT) and not any(
        name.lower() == "cache-control" for name in headers
    ):
        headers["Cache-Control"] = "no-store"
    return response


def errors_in_one_shape(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Domain errors become their HTTP status; Chalice's own errors get our error shape. Answers
    with personal data are marked not to be stored (not_stored_if_private)."""
    try:
        response = get_response(event)
    except DomainError as error:
        return not_stored_if_private(event, error_response(error))
    except Exception:
        log.exception("unhandled error")
        internal = json_response({"error": "Internal error; it has been logged.", "code": "internal"}, 500)
        return not_stored_if_private(event, internal)
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        code = str(response.body["Code"])
        response.body = {"error": response.body.get("Message", code), "code": chalice_error_code(code)}
    return not_stored_if_private(event, response)


STAFF_IDENTITY = "staff_identity"  # key in event.context where staff_sign_in leaves the verified caller
_current_staff: contextvars.ContextVar[StaffIdentity | None] = contextvars.ContextVar("staff", default=None)


def needs_staff_token(request: Request) -> bool:
    """Every /staff and /coordinator route, except the staff page itself and its assets."""
    path, method = request.path or "", request.method
    if method == "OPTIONS" or path.startswith("/staff/assets/"):
        return False
    if method == "GET" and path in ("/staff", "/staff/"):
        return False
    return path.startswith(("/staff/", "/coordinator/")) or path in ("/staff", "/coordinator")


def staff_sign_in(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One verification path for chalice local, the test client and Lambda: 401 without a valid
    token, 403 for staff on /coordinator; the identity reaches the route in event.context."""
    if not needs_staff_token(event):
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


def current_staff() -> StaffIdentity:
    """The caller verified by staff_sign_in for this very request."""
    identity = _current_staff.get()
    if identity is None:
        raise RuntimeError("staff route reached without staff_sign_in")
    return identity


# Outermost first: the log line sees every answer, including the error shape and sign-in's 401/403.
HTTP_MIDDLEWARE = (request_log, errors_in_one_shape, staff_sign_in)
