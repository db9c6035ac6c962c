"""HTTP routes and schedules. Each route parses, calls one service function, maps errors."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib import bootstrap, logs, openapi
from chalicelib.config import settings
from chalicelib.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    PayloadTooLargeError,
    RetryableError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from chalicelib.web import ANY_CONTENT_TYPE, parse_json_body, request_log_line


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
                    return view(*args, **view_kwargs)
                except DomainError as error:
                    return error_response(error)

            register(guarded)
            return view

        return decorator


logs.install()
app = MigraNetApp(app_name="migranet-intake")
app.log.setLevel(logging.INFO)

# Most specific first: IdempotencyConflictError is a ConflictError.
_STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (ValidationError, 400),
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
    status = next(code for kind, code in _STATUS_BY_ERROR if isinstance(error, kind))
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    if isinstance(error, ValidationError):
        body["errors"] = [e.as_dict() for e in error.errors]
    body.update({k: v for k, v in error.detail.items() if k != "field"})
    headers = {}
    if isinstance(error, RetryableError):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return json_response(body, status, headers)


@app.middleware("http")
def request_log(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """One JSON line per request (route, status, latency, case id), redacted; registered first, so outermost."""
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
        response.body = {"error": response.body.get("Message", code), "code": code}
    return response


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


@app.route("/partners", methods=["GET"], cors=True)
def get_partners() -> Response:
    partners = bootstrap.directory().partners().values()
    return json_response({"partners": [p.public_dict() for p in partners]})


@app.route("/openapi.json", methods=["GET"], cors=True)
def get_openapi() -> Response:
    context = app.current_request.context or {}
    return json_response(openapi.document(openapi.base_path(context.get("path"), context.get("resourcePath"))))
