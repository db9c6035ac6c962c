"""Local-stage keys: created once, the same for every concurrent first use, never half-read.
(Production reads them from Parameter Store: tests/unit/test_parameter_store.py.)"""

from __future__ import annotations

import threading

from chalicelib.keys import fernet_key, seal, unseal


def test_concurrent_first_uses_agree_on_one_complete_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SEALING_KEY", raising=False)
    barrier = threading.Barrier(30)
    keys: list[bytes] = []

    def first_use() -> None:
        barrier.wait()
        keys.append(fernet_key("SEALING_KEY"))

    threads = [threading.Thread(target=first_use) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 30 and len(set(keys)) == 1 and len(keys[0]) == 44
    assert [p.name for p in tmp_path.iterdir()] == ["sealing-key.key"]
    assert oct((tmp_path / "sealing-key.key").stat().st_mode & 0o777) == "0o600"


def test_sealed_text_round_trips_and_a_changed_key_degrades_to_none(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    token = seal("https://example.org/status#abc.secret")
    assert "secret" not in token
    assert unseal(token) == "https://example.org/status#abc.secret"
    (tmp_path / "sealing-key.key").unlink()
    assert unseal(token) is None
