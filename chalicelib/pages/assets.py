"""Static files the pages load (CSS, JS), served by the app itself: no CDN, no build step.

URLs carry a content hash (`?v=…`) so browsers may cache them for a year and still see
a new version at once after a deploy; an ETag lets a revalidation cost a 304 only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache

from chalicelib.config import PACKAGE_DIR

ASSETS_DIR = PACKAGE_DIR / "pages" / "assets"
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300, must-revalidate"


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.etag.strip('"')


def static_file(body: str, content_type: str) -> StaticFile:
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    return StaticFile(body=body, content_type=content_type, etag=f'"{digest}"')


@cache
def asset(name: str) -> StaticFile | None:
    """The asset called `name`, or None (unknown names, paths and hidden files are not served)."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    path = ASSETS_DIR / name
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        return None
    return static_file(path.read_text(encoding="utf-8"), content_type)


def asset_url(base_path: str, name: str) -> str:
    found = asset(name)
    if found is None:
        raise FileNotFoundError(f"no asset {name!r} in {ASSETS_DIR}")
    return f"{base_path}/assets/{name}?v={found.version}"


def cache_headers(file: StaticFile, versioned: bool) -> dict[str, str]:
    """Year-long caching only for a URL that names this exact version."""
    return {
        "Content-Type": file.content_type,
        "ETag": file.etag,
        "Cache-Control": IMMUTABLE if versioned else REVALIDATE,
        "X-Content-Type-Options": "nosniff",
    }
