"""Stage settings, read at call time.

chalice.test.Client swaps os.environ only while a handler runs, so nothing here is
read at import time: every caller asks for `settings()` when it needs a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
# The event source of announce_routed_cases. A stream's ARN ends in a label DynamoDB picks when it
# creates the stream, so the deployed template replaces this with the cases table's StreamArn
# (infrastructure/generate.py); the local stack finds the stream itself (chalicelib/local/streams.py).
CASES_STREAM_ARN = "arn:aws:dynamodb:eu-central-1:000000000000:table/cases/stream/set-by-the-template"


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
    # The partner queues' URL without the name (the stack knows it: region and account); empty
    # means ask SQS (GetQueueUrl) once per queue and container.
    queue_url_prefix: str = ""
    # The API's public URL as applicants and Twilio see it (links in SMS, webhook signatures).
    public_base_url: str = ""
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
    # SMS (issue 4): "outbox" (local file), "twilio", or "fake" (tests).
    sms_backend: str = "outbox"
    outbox_file: Path = PROJECT_DIR / ".local-data" / "outbox.jsonl"
    sms_allowed_countries: str = ""  # comma-separated ISO regions; empty = EU/EEA + CH + UA
    sms_segments_per_second: float = 10.0
    sms_quiet_start: str = "21:00"
    sms_quiet_end: str = "08:00"
    sms_intake_limit: int = 3  # intake_received per number per 24 h
    sms_due_shards: int = 1
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_ssm_prefix: str = ""  # prod: SecureString parameters <prefix>/account_sid and <prefix>/auth_token
    twilio_messaging_service_sid: str = ""
    twilio_from: str = ""
    twilio_timeout_seconds: float = 10.0
    twilio_api_base_url: str = ""  # tests only: the fake Twilio server
    # Retention (issue 7): personal data is erased this many days after closing / after an unclaimed intake /
    # after the last step of a case claimed once and never closed.
    retention_days_after_close: int = 180
    retention_days_unclaimed: int = 365
    retention_days_inactive: int = 730
    retention_backstop_days: int = 30  # DynamoDB TTL deletes what enforce_retention missed, this much later

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
        queue_url_prefix=env.get("QUEUE_URL_PREFIX", ""),
        idempotency_hours=int(env.get("IDEMPOTENCY_HOURS", "24")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(64 * 1024))),
        public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        **_auth_settings(env, stage, region),
        **_staff_page_settings(env, stage, region),
        **_sms_settings(env, stage),
        retention_days_after_close=int(env.get("RETENTION_DAYS_AFTER_CLOSE") or 180),
        retention_days_unclaimed=int(env.get("RETENTION_DAYS_UNCLAIMED") or 365),
        retention_days_inactive=int(env.get("RETENTION_DAYS_INACTIVE") or 730),
        retention_backstop_days=int(env.get("RETENTION_BACKSTOP_DAYS") or 30),
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


def _sms_settings(env: Mapping[str, str], stage: str) -> dict[str, Any]:
    data_dir = Path(env.get("LOCAL_DATA_DIR") or ".local-data")
    outbox = Path(env.get("OUTBOX_FILE") or data_dir / "outbox.jsonl")
    return {
        "sms_backend": env.get("SMS_BACKEND") or ("outbox" if stage == "local" else "twilio"),
        "outbox_file": outbox if outbox.is_absolute() else PROJECT_DIR / outbox,
        "sms_allowed_countries": env.get("SMS_ALLOWED_COUNTRIES", ""),
        "sms_segments_per_second": float(env.get("SMS_SEGMENTS_PER_SECOND") or 10),
        "sms_quiet_start": env.get("SMS_QUIET_START") or "21:00",
        "sms_quiet_end": env.get("SMS_QUIET_END") or "08:00",
        "sms_intake_limit": int(env.get("SMS_INTAKE_LIMIT") or 3),
        "sms_due_shards": int(env.get("SMS_DUE_SHARDS") or 1),
        "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
        "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
        "twilio_ssm_prefix": env.get("TWILIO_SSM_PREFIX", ""),
        "twilio_messaging_service_sid": env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
        "twilio_from": env.get("TWILIO_FROM", ""),
        "twilio_timeout_seconds": float(env.get("TWILIO_TIMEOUT_SECONDS") or 10),
        "twilio_api_base_url": env.get("TWILIO_API_BASE_URL", ""),
    }
