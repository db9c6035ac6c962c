"""Loads the JSON Schemas from `schemas/`, the single source.

Chalice packages only `chalicelib/`, so `make package` copies `schemas/` into
`chalicelib/_schemas/` (git-ignored); at run time the packaged copy wins.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.config import PACKAGE_DIR, PROJECT_DIR

SCHEMA_DIRS = (PACKAGE_DIR / "_schemas", PROJECT_DIR / "schemas")


def schema_dir() -> Path:
    for folder in SCHEMA_DIRS:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"no schemas folder in {[str(d) for d in SCHEMA_DIRS]}")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the parsed schema `name` (e.g. "intake")."""
    path = schema_dir() / f"{name}.schema.json"
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def schema_names() -> list[str]:
    return sorted(p.name.removesuffix(".schema.json") for p in schema_dir().glob("*.schema.json"))
