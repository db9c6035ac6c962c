"""The committed template and policies are what the code says: models, partners and functions."""

from __future__ import annotations

import json

from infrastructure.generate import expected_files, main, render, stale_files
from infrastructure.naming import TEMPLATE_PATH, chalice_config


def test_committed_files_match_the_models_partners_and_functions():
    stale = [str(path) for path in stale_files()]
    assert stale == [], f"out of date: {stale}; run `python -m infrastructure.generate` and commit the result"


def test_check_mode_fails_on_a_stale_template(tmp_path, monkeypatch):
    stale_copy = tmp_path / "resources.json"
    document = json.loads(render(expected_files()[TEMPLATE_PATH]))
    del document["Resources"][next(iter(document["Resources"]))]
    stale_copy.write_text(render(document), encoding="utf-8")
    monkeypatch.setattr("infrastructure.generate.TEMPLATE_PATH", stale_copy)
    assert main(["--check"]) == 1


def test_every_stage_uses_its_own_policy_file_and_no_generated_policy():
    for stage, config in chalice_config()["stages"].items():
        assert config.get("autogen_policy") is False, stage
        assert config.get("iam_policy_file") == f"policy-{stage}.json", stage
