"""One `chalice package` per test session (wheels cached in build/cache), shared by the package tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infrastructure.lint import sam_to_cloudformation
from infrastructure.naming import TEMPLATE_PATH
from infrastructure.package import package


@dataclass(frozen=True)
class Packaged:
    directory: Path
    sam: dict[str, Any]
    cloudformation: dict[str, Any]

    @property
    def sam_path(self) -> Path:
        return self.directory / "sam.json"

    def resources_of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.cloudformation["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    root = tmp_path_factory.mktemp("package")
    # The template's freshness has its own test; package what the code says even when stale.
    sam_path = package(root / "out", work_dir=root / "stage", require_current=False)
    sam = json.loads(sam_path.read_text(encoding="utf-8"))
    return Packaged(directory=sam_path.parent, sam=sam, cloudformation=sam_to_cloudformation(sam))


@pytest.fixture
def merge_template() -> dict[str, Any]:
    """The committed merge template: what `make package` deploys."""
    return json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
