"""Intake use case: validate, route, store the case in one conditional write, tell the partner.

That write also holds the case's queue entry, its idempotency record and two outbox markers:
the partner's `case.routed` notice (sent to the partner's queue right after the write, see
services/notices.py) and, with SMS consent, the applicant's intake_received SMS (planned and
sent by send_due_messages).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.data import consent_version
from chalicelib.domain.cases import ROUTED, Case, HistoryEntry, PartnerNotice, iso, sms_recipient
from chalicelib.domain.idempotency import IdempotencyRecord, key_error, keyed_case_id, request_hash
from chalicelib.domain.intake import DEFAULT_ALLOWED_COUNTRIES, normalise_intake, sms_country_served
from chalicelib.domain.privacy import hash_secret, new_status_secret, status_link
from chalicelib.domain.reference import new_reference
from chalicelib.domain.routing import RoutingDecision
from chalicelib.errors import (
    IdempotencyConflictError,
    IdempotencyKeyTakenError,
    RetryableError,
    ValidationError,
)
from chalicelib.keys import seal, unseal
from chalicelib.ports import CaseStore, Clock, Directory
from chalicelib.validation import validate

# A key reused again and again after expiry: past this many cases, ask for a fresh key.
KEY_GENERATIONS = 20
SMS_PLANNED, SMS_NOT_REQUESTED, SMS_NOT_POSSIBLE = "planned", "not_requested", "not_possible"


@dataclass(frozen=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass
class IntakeService:
    store: CaseStore
    directory: Directory
    clock: Clock
    # Keys the case ids derived from Idempotency-Keys (see keyed_case_id); read on first use.
    case_id_secret: Callable[[], str]
    idempotency_hours: int = 24
    public_base_url: str = ""
    # Sends the stored case's `case.routed` notice and clears its marker; never raises (what it
    # cannot send stays marked for the stream and notify_partners).
    announce: Callable[[PartnerNotice], object] | None = None
    # The countries SMS go to (SMS_ALLOWED_COUNTRIES): the answer says when the SMS asked for cannot be sent.
    sms_countries: frozenset[str] = DEFAULT_ALLOWED_COUNTRIES

    def check(self, body: Any) -> dict[str, Any]:
        """Schema plus what the schema cannot decide (a dialable phone number)."""
        errors = validate("intake", body)
        if errors:
            raise ValidationError(errors)
        intake, errors = normalise_intake(body)
        if errors:
            raise ValidationError(errors)
        return intake

    def preview(self, body: Any) -> dict[str, Any]:
        """The routing decision for an intake, storing nothing."""
        decision = self.directory.routing_policy().decide(self.check(body))
        return self._decision_body(decision)

    def submit(self, body: Any, idempotency_key: str | None) -> IntakeResult:
        bad_key = key_error(idempotency_key)
        if bad_key is not None:
            raise ValidationError([bad_key])
        intake = self.check(body)
        now = self.clock.now()
        decision = self.directory.routing_policy().decide(intake)
        body_hash = request_hash(body)
        generations = range(KEY_GENERATIONS) if idempotency_key is not None else [None]
        for generation in generations:
            case_id = (
                str(uuid.uuid4())
                if generation is None
                else keyed_case_id(idempotency_key or "", generation, self.case_id_secret())
            )
            case, response, record = self._new_case(case_id, intake, decision, now, idempotency_key, body_hash)
            try:
                self.store.create_case(case, record, confirm_by_sms=sms_recipient(case) is not None)
            except IdempotencyKeyTakenError:
                replay = self._replay(case_id, body_hash)
                if replay is None:
                    continue  # that case's record has expired: the key may start a new one
                return replay
            except RetryableError:
                # The write may have landed and only its answer was lost: then this request succeeded.
                # A keyed id may also hold an earlier request's case, which refused this write: only
                # this attempt's own reference shows that the stored case is this one.
                stored = self._stored_reference(case.case_id)
                if stored is None:
                    raise
                if stored != case.reference:
                    replay = self._replay(case_id, body_hash)
                    if replay is None:
                        continue
                    return replay
            if self.announce is not None:
                self.announce(PartnerNotice.of(case))
            return IntakeResult(201, response)
        raise IdempotencyConflictError(
            "This Idempotency-Key has been used too often; send a new one.", field="Idempotency-Key"
        )

    def _new_case(
        self,
        case_id: str,
        intake: dict[str, Any],
        decision: RoutingDecision,
        now: datetime,
        idempotency_key: str | None,
        body_hash: str,
    ) -> tuple[Case, dict[str, Any], IdempotencyRecord | None]:
        case = Case(
            case_id=case_id,
            reference=new_reference(),
            partner=decision.partner,
            status=ROUTED,
            rule=decision.rule,
            routing_reason=decision.reason,
            language=intake["language"],
            intake=intake,
            created_at=iso(now),
            updated_at=iso(now),
            queued_at=iso(now),
            history=[HistoryEntry(iso(now), "routed", decision.partner, None, decision.as_dict())],
            consent=consent_record(intake, now),
            idempotency_key=idempotency_key,
        )
        secret = new_status_secret()
        case.status_secret_hash = hash_secret(secret)
        response = {
            "case_id": case.case_id,
            "reference": case.reference,
            "status": ROUTED,
            **self._decision_body(decision),
            "status_link": status_link(self.public_base_url, case.case_id, secret),
            "sms": self._sms(intake),
        }
        record = None
        if idempotency_key is not None:
            expires = now + timedelta(hours=self.idempotency_hours)
            # The plain secret is stored nowhere: the replay copy of the response holds it sealed.
            stored = {**response, "status_link": seal(response["status_link"])}
            record = IdempotencyRecord(idempotency_key, body_hash, 201, stored, now, expires, case.case_id)
        return case, response, record

    def _sms(self, intake: dict[str, Any]) -> str:
        """`planned`, `not_requested`, or `not_possible`: a number in a country SMS do not go to
        (a home number before moving, say): the applicant is told now, staff are asked to call."""
        consent = intake.get("consent") or {}
        phone = intake.get("phone")
        if not consent.get("sms") or not isinstance(phone, str):
            return SMS_NOT_REQUESTED
        return SMS_PLANNED if sms_country_served(phone, self.sms_countries) else SMS_NOT_POSSIBLE

    def _stored_reference(self, case_id: str) -> str | None:
        """The reference of the case stored under `case_id`; None if there is none or no answer."""
        try:
            stored = self.store.get_case(case_id)
        except RetryableError:
            return None
        return stored.reference if stored else None

    def _replay(self, case_id: str, body_hash: str) -> IntakeResult | None:
        """The first answer for this key, or None when the case `case_id` holds no live record."""
        submission = self.store.get_submission(case_id)
        existing = submission[1] if submission else None
        if submission is None or existing is None or existing.expires_at <= self.clock.now():
            return None
        if existing.request_hash != body_hash:
            raise IdempotencyConflictError(
                "This Idempotency-Key was already used with a different request body.", field="Idempotency-Key"
            )
        response = dict(existing.response)
        if "status_link" in response:
            response["status_link"] = unseal(response["status_link"])
        return IntakeResult(existing.status_code, response, replayed=True)

    def _decision_body(self, decision: RoutingDecision) -> dict[str, Any]:
        partner = self.directory.partners()[decision.partner]
        return {"partner": partner.id, "partner_name": partner.name, "rule": decision.rule, "reason": decision.reason}


def consent_record(intake: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Which consent texts were accepted, when and in which language (GDPR Art. 7(1)): the page's
    language, in which the texts were shown, which may differ from the one chosen for messages."""
    consent = intake["consent"]
    shown_in = consent.get("language") or intake["language"]
    return {
        "version": consent_version(shown_in),
        "language": shown_in,
        "accepted_at": iso(now),
        "data_processing": consent["data_processing"],
        "share_with_partners": consent["share_with_partners"],
        "sms": consent["sms"],
        "sms_withdrawn_at": None,
    }
