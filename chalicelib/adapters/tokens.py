"""Staff bearer tokens: one verification path for every stage (PyJWT, RS256 only).

Production verifies Cognito ID tokens against the user pool's JWKS; the local stage verifies
tokens signed with a key file that `make run` (or the first `staff-token` command) creates.
Issuer, audience and key source come from `Settings`, so the code path is the same.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.config import Settings
from chalicelib.domain.staff import ROLES, STAFF, StaffIdentity
from chalicelib.errors import ForbiddenError, RetryableError, UnauthorizedError

ALGORITHM = "RS256"
LEEWAY_SECONDS = 30  # clock skew between the token issuer and this function
# What a token must carry to be checked at all (issue 3 names sub, name, custom:partner, custom:role;
# issuer, audience and expiry are verified). `iat` is checked when present, as Cognito's always is.
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header, or a 401 saying what is missing."""
    if not authorization:
        raise UnauthorizedError("Sign in first: send the header 'Authorization: Bearer <token>'.", code="token_missing")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("The Authorization header must be 'Bearer <token>'.", code="token_missing")
    return token.strip()


def verify_token(token: str, settings: Settings) -> StaffIdentity:
    """The identity in a valid staff ID token; UnauthorizedError (401) or ForbiddenError (403) otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise UnauthorizedError("The token is malformed; sign in again.") from error
    # Pinning the algorithm defeats "alg: none" and HS256-with-the-public-key confusion.
    if header.get("alg") != ALGORITHM:
        raise UnauthorizedError(f"Tokens must be signed with {ALGORITHM}; this one is not accepted.")
    key = _verification_key(token, header, settings)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as error:
        raise UnauthorizedError("The token has expired; sign in again.", code="token_expired") from error
    except jwt.InvalidAudienceError as error:
        raise UnauthorizedError("The token was issued for another application (audience).") from error
    except jwt.InvalidIssuerError as error:
        raise UnauthorizedError("The token was issued by an issuer this API does not trust.") from error
    except jwt.InvalidSignatureError as error:
        raise UnauthorizedError("The token's signature does not verify; it was not issued by us.") from error
    except jwt.MissingRequiredClaimError as error:
        if _unverified_claims(token).get("token_use") == "access":  # only to word the refusal
            raise UnauthorizedError(_SEND_ID_TOKEN) from error
        raise UnauthorizedError(f"The token lacks the {error.claim!r} claim.") from error
    except jwt.InvalidTokenError as error:
        raise UnauthorizedError(f"The token is not valid ({error}).") from error
    # Cognito access tokens carry client_id, not aud, and no profile claims: accept ID tokens only.
    # (The local stage's tokens say so too, but one made by other tools with the local key need not.)
    if claims.get("token_use", "id" if settings.auth_mode == "local" else None) != "id":
        raise UnauthorizedError(_SEND_ID_TOKEN)
    return identity_from_claims(claims)


_SEND_ID_TOKEN = "Send the ID token (token_use 'id'), not an access token."


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.InvalidTokenError:
        return {}


def identity_from_claims(claims: dict[str, Any]) -> StaffIdentity:
    role = claims.get("custom:role")
    partner = claims.get("custom:partner") or None
    if not isinstance(role, str) or role not in ROLES:  # a list here was a 500 (unhashable)
        raise ForbiddenError("This account has no staff role; ask a network coordinator to grant one.")
    if not isinstance(partner, str | None):
        # Only an issuer could sign such a claim, but a list or object here was a 500 further on.
        raise ForbiddenError("This account's partner is not a single institution; ask a network coordinator.")
    if role == STAFF and not partner:
        raise ForbiddenError("This staff account belongs to no partner institution; ask a coordinator.")
    name = claims.get("name") or claims.get("cognito:username") or claims.get("email") or str(claims["sub"])
    return StaffIdentity(staff_id=str(claims["sub"]), name=str(name), role=str(role), partner=partner)


def _verification_key(token: str, header: dict[str, Any], settings: Settings) -> Any:
    if settings.auth_mode == "local":
        private_key = local_signing_key(settings.local_jwt_key_file)
        if header.get("kid") not in (None, key_id(private_key)):
            raise UnauthorizedError("The token was signed by another key (a different local stack?); make a new one.")
        return private_key.public_key()
    if settings.auth_mode != "cognito" or not settings.jwks_url or not settings.jwt_audience:
        raise RuntimeError("staff sign-in is not configured: set COGNITO_USER_POOL_ID and COGNITO_APP_CLIENT_ID")
    try:
        return _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
    except jwt.PyJWKClientConnectionError as error:
        raise RetryableError("The sign-in keys cannot be fetched right now; please retry.", 5) from error
    except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
        raise UnauthorizedError("The token was signed by a key this API does not know.") from error


@cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per container: it caches the pool's keys and refetches on an unknown kid."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


# --- the local stage's signing key -------------------------------------------------------


def local_signing_key(path: Path) -> rsa.RSAPrivateKey:
    """The local key, created on first use (atomically: a racing creator's key wins, never a torn file)."""
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        _create_key_file(path)
        stamp = path.stat().st_mtime_ns
    return _load_key(path, stamp)


@lru_cache(maxsize=4)
def _load_key(path: Path, stamp: int) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RuntimeError(f"{path} does not hold an RSA private key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created the key meanwhile: keep theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def key_id(private_key: rsa.RSAPrivateKey) -> str:
    """RFC 7638 thumbprint of the public key, so a token from another key gets a clear message."""
    numbers = private_key.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    canonical = json.dumps({"e": b64(numbers.e), "kty": "RSA", "n": b64(numbers.n)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()[:16]


def local_staff_id(role: str, partner: str | None, name: str) -> str:
    """One id per person: two names at one partner are two people (one may not claim the other's
    case as their own). Hashed, so the id in logs and audit entries does not spell the name."""
    person = hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:10]
    return f"local-{role}-{partner or 'network'}-{person}"


def issue_local_token(
    settings: Settings,
    *,
    partner: str | None,
    role: str = STAFF,
    name: str = "Local Staff",
    sub: str | None = None,
    hours: float = 8,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A token shaped like a Cognito ID token, signed with the local key (local stage and tests)."""
    issued = now or datetime.now(UTC)
    private_key = local_signing_key(settings.local_jwt_key_file)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": sub or local_staff_id(role, partner, name),
        "name": name,
        "token_use": "id",
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(hours=hours)).timestamp()),
        "custom:role": role,
        **({"custom:partner": partner} if partner else {}),
        **(extra or {}),
    }
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": key_id(private_key)})
