"""Reference codes an applicant can read out on the phone."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L, and no U/V pair: easy to say and to hear.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
LENGTH = 8
REFERENCE_FORMAT = re.compile(f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")
# What normalise_reference turns into one (ECMA-262 as well, for the OpenAPI document): the eight
# characters in either case, spaces and dashes anywhere between them.
_EITHER_CASE = ALPHABET + "".join(char.lower() for char in ALPHABET if char.isalpha())
REFERENCE_AS_TYPED = f"^[ -]*([{_EITHER_CASE}][ -]*){{{LENGTH}}}$"


def new_reference() -> str:
    """E.g. "K7P3-Q9XA": 29^8 ≈ 5e11 combinations, grouped in fours for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_reference(text: str) -> str:
    """Accept what staff type from a phone call: lower case, spaces, no dash."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == LENGTH else text.strip().upper()
