"""Domain errors. Only app.py turns them into HTTP responses, by type."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """Base of every error the services raise on purpose."""

    code = "error"

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass
class ValidationError(DomainError):
    errors: list[FieldError] = field(default_factory=list)
    code = "validation_failed"

    def __post_init__(self) -> None:
        super().__init__("The request has invalid fields.")


class UnsupportedMediaTypeError(DomainError):
    code = "unsupported_media_type"


class PayloadTooLargeError(DomainError):
    code = "payload_too_large"


class NotFoundError(DomainError):
    code = "not_found"


# What API Gateway answers for a path no route has (its gateway response, infrastructure/api.py)
# and `make run` too (chalicelib/local/chalice_child.py). Its own default is a 403 that repeats a
# request's Authorization header, a staff member's bearer token, in the body.
NO_SUCH_ROUTE = {"error": "There is no such route; the API is described at /openapi.json.", "code": "not_found"}


class ConflictError(DomainError):
    code = "conflict"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"


class RetryableError(DomainError):
    """Storage was throttled or a transaction collided; the caller may retry."""

    code = "temporarily_unavailable"

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class IdempotencyKeyTakenError(DomainError):
    """Raised by a store when a transaction lost the race for an idempotency key."""

    code = "idempotency_key_taken"


class UnauthorizedError(DomainError):
    """No usable staff token: missing, malformed, forged, expired, or for another issuer/audience."""

    code = "unauthorized"

    def __init__(self, message: str, code: str = "token_invalid") -> None:
        super().__init__(message)
        self.code = code


class ForbiddenError(DomainError):
    """A valid token whose role or institution does not allow this action."""

    code = "forbidden"


class AlreadyClaimedError(ConflictError):
    """Someone else holds the case; `claimed_by_name` says who."""

    code = "already_claimed"


class InvalidTransitionError(ConflictError):
    """The case is in a state that does not allow this action (it is left unchanged)."""

    code = "invalid_transition"


class AttentionNotOpenError(ConflictError):
    """No open flag with this reason and appointment on the case (settled, or resolved by someone)."""

    code = "attention_not_open"


class StateChangedError(ConflictError):
    """Raised by a store when a conditional transition found the case changed since it was read."""

    code = "state_changed"


class AppointmentOverlapError(ConflictError):
    """The staff member already has an appointment at that time (`conflicting_appointment` says which)."""

    code = "appointment_overlap"


class AppointmentStartedError(ConflictError):
    """The appointment has begun: it can no longer be moved or cancelled, only its attendance recorded."""

    code = "appointment_started"


class StartInThePastError(ConflictError):
    """A booking or a move to a time that is not in the future (409, like an overlap: the request is
    well formed, the time is taken by the past). `errors` names `start` as a 400 would."""

    code = "in_the_past"

    def __init__(self, message: str) -> None:
        super().__init__(message, errors=[FieldError("start", self.code, message).as_dict()])


class RecordFullError(ConflictError):
    """Raised by a store when DynamoDB refused a write that would make an item exceed 400 KB
    (a case whose history was grown on purpose); the write did not happen."""

    code = "record_full"
