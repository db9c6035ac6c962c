from __future__ import annotations

from tests.conftest import post_json


def test_smoke(client, valid_intake):
    r = post_json(client, "/intake", valid_intake)
    print(r.status_code, r.body)
    assert r.status_code == 201
