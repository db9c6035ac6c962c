"""JSON Schemas served to browsers, compact, so pages validate with the server's own rules."""

from __future__ import annotations

import json
from functools import cache

from chalicelib.pages.assets import StaticFile, static_file
from chalicelib.schemas import load_schema, schema_names

SUFFIX = ".schema.json"


@cache
def schema_file(name: str) -> StaticFile:
    body = json.dumps(load_schema(name), ensure_ascii=False, separators=(",", ":"))
    return static_file(body, "application/schema+json; charset=utf-8")


def public_schema(filename: str) -> StaticFile | None:
    """`intake.schema.json` → the served file; None for anything that is not one of our schemas."""
    if not filename.endswith(SUFFIX):
        return None
    name = filename.removesuffix(SUFFIX)
    return schema_file(name) if name in schema_names() else None
