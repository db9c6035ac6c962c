"""Per-language page texts (chalicelib/data/labels/<lang>.json) and locale data from Babel.

The label files hold every word the applicant reads: field labels, help texts, option
names, error texts by validation code and the consent texts with their version id.
Country and language names come from Babel (CLDR), so 250 countries need no hand work.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale

from chalicelib.config import PACKAGE_DIR
from chalicelib.schemas import load_schema

LABELS_DIR = PACKAGE_DIR / "data" / "labels"
DEFAULT_LANGUAGE = "de"
# Texts missing in a language (e.g. a field just added to the schema) fall back to English.
FALLBACK_LANGUAGE = "en"


@cache
def languages() -> tuple[str, ...]:
    """The intake languages: the schema's `language` enum, in schema order."""
    return tuple(load_schema("intake")["properties"]["language"]["enum"])


def _read(language: str) -> dict[str, Any]:
    path: Path = LABELS_DIR / f"{language}.json"
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@cache
def raw_labels(language: str) -> dict[str, Any]:
    """The label file exactly as written (tests check completeness against English)."""
    return _read(language)


@cache
def labels(language: str) -> dict[str, Any]:
    """The label file of `language`, with English filling any gap."""
    if language == FALLBACK_LANGUAGE:
        return raw_labels(language)
    return _merge(raw_labels(FALLBACK_LANGUAGE), raw_labels(language))


def is_rtl(language: str) -> bool:
    return Locale.parse(language).character_order == "right-to-left"


@cache
def autonym(language: str) -> str:
    """A language's name in itself ("Deutsch", "العربية"), as speakers look for it."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def _sort_key(name: str) -> str:
    # Without collation data, strip accents so "Österreich" sorts with the O's.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@cache
def country_names(language: str, codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(code, localized name) for `codes`, sorted by name as a reader of `language` expects."""
    territories = Locale.parse(language).territories
    named = [(code, territories.get(code, code)) for code in codes]
    return tuple(sorted(named, key=lambda pair: _sort_key(pair[1])))


def negotiate(accept_language: str | None) -> str:
    """The best intake language for an Accept-Language header; German when nothing fits."""
    offered = languages()
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in offered and quality > 0:
            weighted.append((-quality, position, primary))
    return min(weighted)[2] if weighted else DEFAULT_LANGUAGE
