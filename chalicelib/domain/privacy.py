"""Applicants' rights and retention: status-link secrets and anonymisation. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.domain.cases import Case, HistoryEntry, iso


def phone_hash(e164: str, key: str) -> str:
    """Keyed hash: opt-outs and limits are found by number without storing the number itself."""
    return hmac.new(key.encode("utf-8"), e164.encode("utf-8"), hashlib.sha256).hexdigest()


# Why a case's personal data was erased: codes only, since the reason goes into the audit log.
# The applicant's own link uses applicant_request; the retention schedule its three clocks.
ERASURE_REASONS = (
    "applicant_request",  # Art. 17(1): the applicant asked (by link, phone, letter or in person)
    "consent_withdrawn",  # Art. 17(1)(b)
    "objection",  # Art. 17(1)(c) / Art. 21
    "no_longer_needed",  # Art. 17(1)(a)
    "unlawfully_processed",  # Art. 17(1)(d)
    "legal_obligation",  # Art. 17(1)(e)
    "duplicate_or_test",  # not a real applicant, or a second submission
)
RETENTION_REASONS = ("retention_unclaimed", "retention_closed", "retention_inactive")

SECRET_BYTES = 16  # 128 bits: guessing is hopeless even at millions of tries per second


def new_status_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str | None, stored_hash: str | None) -> bool:
    """Constant-time, so response timing reveals nothing about the stored hash."""
    if not secret or not stored_hash:
        # Still compare, so a missing secret costs the same as a wrong one.
        hmac.compare_digest(hash_secret(secret or ""), "0" * 64)
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def status_link(base_url: str, case_id: str, secret: str) -> str:
    """The secret sits in the URL fragment, which browsers never send to servers or proxies' logs."""
    return f"{base_url.rstrip('/')}/status#{case_id}.{secret}"


# What statistics keep of an intake, as issue 7 lists it (partner, profession group, goals, dates,
# outcome): no more, since a country of qualification, a German level and a language together can
# single out an applicant in a small cohort. Partner, dates and outcome are the case's own fields.
ANONYMOUS_INTAKE_FIELDS = ("goals",)
ANONYMOUS_QUALIFICATION_FIELDS = ("profession_group",)
UNDETERMINED_LANGUAGE = "und"  # BCP 47 for "undetermined": the case's language goes with the rest


def anonymous_intake(intake: dict[str, Any]) -> dict[str, Any]:
    kept = {k: intake[k] for k in ANONYMOUS_INTAKE_FIELDS if k in intake}
    qualification = intake.get("qualification") or {}
    kept["qualification"] = {k: qualification[k] for k in ANONYMOUS_QUALIFICATION_FIELDS if k in qualification}
    return kept


def anonymise(case: Case, now: datetime, reason: str) -> Case:
    """The case without anything that identifies the applicant: no names, phone, free text or link."""
    history = [HistoryEntry(h.at, h.action, h.partner, None, _codes_only(h.detail)) for h in case.history]
    history.append(HistoryEntry(iso(now), "erased", case.partner, None, {"reason": reason}))
    return replace(
        case,
        reference="ERASED",
        intake=anonymous_intake(case.intake),
        language=UNDETERMINED_LANGUAGE,
        # Which texts were accepted and when stays; in which language (the applicant's) does not.
        consent={k: v for k, v in case.consent.items() if k != "language"},
        claimed_by_name=None,
        history=history,
        status_secret_hash=None,
        idempotency_key=None,
        erased_at=iso(now),
        updated_at=iso(now),  # a write read before the erasure (conditional on updated_at) fails after it
    )


# History details written by staff may hold free text (reasons, notes); keep only codes and ids.
_CODE_KEYS = frozenset({"rule", "partner", "from", "to", "outcome", "from_partner", "to_partner", "status"})


def _codes_only(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k in _CODE_KEYS and isinstance(v, str | bool | int)}
