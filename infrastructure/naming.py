"""Names of the deployed resources, derived from the stage configuration (never typed twice)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.config import PROJECT_DIR, Settings
from chalicelib.config import settings as current_settings

CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"
INFRA_DIR = Path(__file__).resolve().parent
TEMPLATE_PATH = INFRA_DIR / "resources.json"
# Production is Frankfurt so applicants' data stays in the EU; policy ARNs pin the region.
REGION = "eu-central-1"


@cache
def chalice_config() -> dict[str, Any]:
    with CHALICE_CONFIG.open(encoding="utf-8") as handle:
        return json.load(handle)


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables Chalice gives every function of `stage` (top level, then stage)."""
    config = chalice_config()
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


@dataclass(frozen=True)
class StageNames:
    stage: str
    app_name: str
    settings: Settings

    def table(self, logical: str) -> str:
        return self.settings.table(logical)

    def queue(self, partner_id: str) -> str:
        return self.settings.queue_name(partner_id)

    @property
    def dead_letter_queue(self) -> str:
        return self.settings.dead_letter_queue_name

    @property
    def log_group(self) -> str:
        """One log group for every function of the stage: one retention, one key, one metric filter."""
        return f"/aws/lambda/{self.app_name}-{self.stage}"

    @property
    def twilio_ssm_prefix(self) -> str:
        return f"/migranet/{self.stage}/twilio"

    @property
    def twilio_parameters(self) -> list[str]:
        """SecureString parameters an operator creates (CloudFormation cannot); the app reads them by name."""
        return [f"{self.twilio_ssm_prefix}/account_sid", f"{self.twilio_ssm_prefix}/auth_token"]

    @property
    def app_keys_ssm_prefix(self) -> str:
        return f"/migranet/{self.stage}/keys"

    @property
    def app_key_parameters(self) -> dict[str, str]:
        """Fernet keys (SecureString) the app reads by name: env variable → parameter name."""
        return {
            "SEALING_KEY_PARAMETER": f"{self.app_keys_ssm_prefix}/sealing-key",
            "PHONE_HASH_KEY_PARAMETER": f"{self.app_keys_ssm_prefix}/phone-hash-key",
        }

    @property
    def key_alias(self) -> str:
        return f"alias/migranet-{self.stage}-data"

    @property
    def user_pool(self) -> str:
        return f"migranet-{self.stage}-staff"


def names(stage: str = "prod") -> StageNames:
    env = stage_environment(stage)
    # replace() keeps working when the app adds settings; only the naming fields matter here.
    settings = replace(
        current_settings(),
        stage=stage,
        region=REGION,
        table_prefix=env["TABLE_PREFIX"],
        queue_prefix=env["QUEUE_PREFIX"],
    )
    return StageNames(stage=stage, app_name=chalice_config()["app_name"], settings=settings)


def cfn_name(name: str) -> str:
    """CamelCase logical id, the same conversion Chalice uses for its resources."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(name)
