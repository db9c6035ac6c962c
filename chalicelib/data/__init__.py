"""Seed data the Lambda reads: partners and routing rules."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def default_partners() -> list[dict[str, Any]]:
    return list(load("partners.json")["partners"])


def default_routing_rules() -> dict[str, Any]:
    return dict(load("routing-rules.json"))


def consent_version(language: str) -> str:
    """The version id of the consent texts the intake page shows in `language`."""
    try:
        return str(load(f"labels/{language}.json")["consent_version"])
    except (FileNotFoundError, KeyError):
        return str(load("labels/de.json")["consent_version"])
