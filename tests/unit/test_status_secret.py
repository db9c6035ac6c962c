"""Brute-force resistance of the status link: 128 random bits, compared in constant time, stored hashed."""

from __future__ import annotations

import base64
import hmac
from typing import Any

import pytest

from chalicelib.domain import privacy
from chalicelib.domain.privacy import hash_secret, new_status_secret, secret_matches, status_link


def test_secrets_carry_128_random_bits_and_never_repeat() -> None:
    secrets = [new_status_secret() for _ in range(2000)]
    assert len(set(secrets)) == len(secrets)
    for secret in secrets[:50]:
        assert len(base64.urlsafe_b64decode(secret + "==")) == 16
    # Every url-safe character shows up in some position: no structure an attacker could exploit.
    assert len(set("".join(secrets))) == 64


def test_only_the_hash_is_compared_and_always_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(privacy.hmac, "compare_digest", spy)
    secret = new_status_secret()
    stored = hash_secret(secret)
    assert secret_matches(secret, stored)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), stored)
    assert not secret_matches(None, stored)  # a missing secret costs a comparison too
    assert not secret_matches(secret, None)  # so does an erased case
    assert len(calls) == 4
    assert all(len(a) == len(b) == 64 for a, b in calls)  # sha256 hex on both sides, never the raw secret


def test_the_secret_travels_in_the_fragment_which_browsers_never_send() -> None:
    link = status_link("https://migranet.example/api/", "0f0f0f0f-0000-4000-8000-000000000000", "s3cr3t")
    assert link == "https://migranet.example/api/status#0f0f0f0f-0000-4000-8000-000000000000.s3cr3t"
