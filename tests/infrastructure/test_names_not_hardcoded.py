"""Table and queue names come from stage configuration, never from the code."""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib.adapters.dynamodb.models import MODELS
from chalicelib.config import PACKAGE_DIR, PROJECT_DIR
from chalicelib.data import default_partners

STAGES = ("local", "prod")


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def test_domain_and_services_never_name_or_build_a_stage_resource_name():
    # "migranet-local-…", "migranet-prod…" or f"migranet-{stage}…": only settings() knows the prefix.
    stages = "|".join(STAGES)
    stage_name = re.compile(rf"migranet-(?:{stages}|\{{)")
    offenders = [
        str(path.relative_to(PROJECT_DIR))
        for path in python_files(PACKAGE_DIR / "domain", PACKAGE_DIR / "services")
        if stage_name.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_module_spells_out_a_concrete_table_or_queue_name():
    suffixes = [*MODELS, *(p["id"] for p in default_partners()), "dead-letter"]
    stages, names = "|".join(STAGES), "|".join(re.escape(s) for s in suffixes)
    concrete = re.compile(rf"migranet-(?:{stages})-(?:{names})\b")
    files = [PROJECT_DIR / "app.py", *python_files(PACKAGE_DIR)]
    offenders = [str(p.relative_to(PROJECT_DIR)) for p in files if concrete.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
