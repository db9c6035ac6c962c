"""Normalising a schema-valid intake: what the schema alone cannot decide."""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers

from chalicelib.domain.text import multi_line, one_line
from chalicelib.errors import FieldError

DEFAULT_PHONE_REGION = "DE"
# Numbers no SMS reaches: premium-rate ones are also what SMS-pumping fraud sends to (and bills).
NO_SMS_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
        phonenumbers.PhoneNumberType.PAGER,
    }
)


# EU member states (with outermost regions that have their own phone regions), EEA, Switzerland, Ukraine.
DEFAULT_COUNTRIES_TEXT = (
    "AT,BE,BG,HR,CY,CZ,DK,EE,FI,FR,DE,GR,HU,IE,IT,LV,LT,LU,MT,NL,PL,PT,RO,SK,SI,ES,SE,"
    "AX,GF,GP,MQ,RE,YT,MF,"
    "IS,LI,NO,CH,UA"
)


def parse_countries(text: str) -> frozenset[str]:
    """ "DE, AT,ch" → {"DE", "AT", "CH"}; empty means the default list."""
    codes = {code.strip().upper() for code in (text or DEFAULT_COUNTRIES_TEXT).split(",") if code.strip()}
    return frozenset(codes)


DEFAULT_ALLOWED_COUNTRIES = parse_countries(DEFAULT_COUNTRIES_TEXT)


def sms_country_served(e164: str, countries: frozenset[str]) -> bool:
    """Whether SMS go to this number's country (Twilio's geo permissions, against SMS-pumping fraud)."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) in countries


def normalise_phone(raw: str) -> str | None:
    """E.164 for a number a person could dial, or None."""
    try:
        number = phonenumbers.parse(raw, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


NO_SMS_MESSAGE = (
    "phone is a premium-rate, toll-free or service number, which cannot receive text messages: "
    "give a mobile number, or do not ask for SMS."
)


def _sms_consented(intake: dict[str, Any]) -> bool:
    consent = intake.get("consent")
    return isinstance(consent, dict) and consent.get("sms") is True


def can_receive_sms(e164: str) -> bool:
    """False for service numbers (premium-rate, toll-free, shared-cost...). Landlines stay allowed:
    some receive SMS read aloud, and Twilio's own answer (21614) marks the rest failed."""
    return phonenumbers.number_type(phonenumbers.parse(e164)) not in NO_SMS_TYPES


def normalise_intake(body: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Trim names and text, store the phone as E.164; return the copy and any field errors."""
    intake = copy.deepcopy(body)
    errors: list[FieldError] = []
    for name in ("given_name", "family_name", "email"):
        if isinstance(intake.get(name), str):
            intake[name] = one_line(intake[name])
    if isinstance(intake.get("message"), str):
        intake["message"] = multi_line(intake["message"])
    if isinstance(intake.get("qualification"), dict) and isinstance(intake["qualification"].get("title"), str):
        intake["qualification"]["title"] = one_line(intake["qualification"]["title"])
    if "phone" in intake:
        e164 = normalise_phone(intake["phone"])
        if e164 is None:
            errors.append(FieldError("phone", "invalid_phone", "phone is not a valid phone number."))
        else:
            intake["phone"] = e164
            if _sms_consented(intake) and not can_receive_sms(e164):
                errors.append(FieldError("phone", "invalid_phone", NO_SMS_MESSAGE))
    if isinstance(intake.get("consent"), dict):
        intake["consent"].setdefault("sms", False)  # the schema's default: no SMS unless asked for
    if intake.get("email") == "":
        del intake["email"]
    if intake.get("message") == "":
        del intake["message"]
    return intake, errors
