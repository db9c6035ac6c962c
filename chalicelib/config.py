"""Stage settings, read at call time.

chalice.test.Client swaps os.environ only while a handler runs, so nothing here is
read at import time: every caller asks for `settings()` when it needs a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    queue_prefix: str
    dynamodb_endpoint: str | None
    sqs_endpoint: str | None
    idempotency_hours: int
    max_body_bytes: int
    # Staff sign-in (issue 3): "local" verifies against a key file, "cognito" against the pool's JWKS.
    auth_mode: str = "local"
    jwt_issuer: str = "migranet-local"
    jwt_audience: str = "migranet-staff"
    jwks_url: str | None = None
    local_jwt_key_file: Path = PROJECT_DIR / ".local-data" / "staff-signing-key.pem"
    # Staff page sign-in (issue 5): the Cognito hosted UI (code flow + PKCE); empty locally (pasted token).
    cognito_domain: str = ""  # https://<prefix>.auth.<region>.amazoncognito.com
    cognito_app_client_id: str = ""
    staff_redirect_url: str = ""  # where the hosted UI returns to: <PUBLIC_BASE_URL>/staff

    def table(self, name: str) -> str:
        return f"{self.table_prefix}-{name}"

    def queue_name(self, partner_id: str) -> str:
        return f"{self.queue_prefix}-{partner_id}"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.queue_prefix}-dead-letter"


def settings() -> Settings:
    env = os.environ
    stage = env.get("STAGE", "local")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-central-1"
    return Settings(
        stage=stage,
        region=region,
        table_prefix=env.get("TABLE_PREFIX", f"migranet-{stage}"),
        queue_prefix=env.get("QUEUE_PREFIX", f"migranet-{stage}"),
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        sqs_endpoint=env.get("SQS_ENDPOINT") or None,
        idempotency_hours=int(env.get("IDEMPOTENCY_HOURS", "24")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(64 * 1024))),
        **_auth_settings(env, stage, region),
        **_staff_page_settings(env, stage, region),
    )


def _auth_settings(env: Mapping[str, str], stage: str, region: str) -> dict[str, Any]:
    """The local stage signs staff tokens with a key file; every other stage trusts only Cognito."""
    data_dir = env.get("LOCAL_DATA_DIR") or ".local-data"
    key_file = Path(env.get("LOCAL_JWT_KEY_FILE") or Path(data_dir) / "staff-signing-key.pem")
    key_file = key_file if key_file.is_absolute() else PROJECT_DIR / key_file
    if stage == "local":
        return {"auth_mode": "local", "local_jwt_key_file": key_file}
    pool = env.get("COGNITO_USER_POOL_ID", "")
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    return {
        "auth_mode": "cognito",
        "jwt_issuer": issuer,
        "jwt_audience": env.get("COGNITO_APP_CLIENT_ID", ""),
        "jwks_url": env.get("COGNITO_JWKS_URL") or f"{issuer}/.well-known/jwks.json",
        "local_jwt_key_file": key_file,
    }


def _staff_page_settings(env: Mapping[str, str], stage: str, region: str) -> dict[str, Any]:
    """The hosted UI the staff page sends people to; the stack passes the domain prefix (COGNITO_DOMAIN)."""
    if stage == "local":
        return {}  # the local stage signs in with a pasted token, never with Cognito
    domain = env.get("COGNITO_DOMAIN", "").strip().rstrip("/")
    if domain and "://" not in domain:
        domain = f"https://{domain}" if "." in domain else f"https://{domain}.auth.{region}.amazoncognito.com"
    public = env.get("PUBLIC_BASE_URL", "").rstrip("/")
    return {
        "cognito_domain": domain,
        "cognito_app_client_id": env.get("COGNITO_APP_CLIENT_ID", ""),
        "staff_redirect_url": env.get("STAFF_REDIRECT_URL") or (f"{public}/staff" if public else ""),
    }
