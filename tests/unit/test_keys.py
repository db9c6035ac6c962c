"""Local-stage keys: created once, the same for every concurrent first use, never half-read."""

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


def test_production_reads_each_key_from_its_ssm_securestring_once(monkeypatch):
    import boto3
    from moto import mock_aws

    from chalicelib import keys

    monkeypatch.setenv("STAGE", "prod")
    for name in ("SEALING_KEY", "PHONE_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(f"{name}_PARAMETER", f"/migranet/prod/app/{name.lower()}")
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-central-1")
        sealing, phone_hash = b"x" * 43 + b"=", b"y" * 43 + b"="
        ssm.put_parameter(Name="/migranet/prod/app/sealing_key", Value=sealing.decode(), Type="SecureString")
        ssm.put_parameter(Name="/migranet/prod/app/phone_hash_key", Value=phone_hash.decode(), Type="SecureString")
        keys._from_ssm.cache_clear()
        keys._ssm_client.cache_clear()
        try:
            assert fernet_key("SEALING_KEY") == sealing
            assert fernet_key("PHONE_HASH_KEY") == phone_hash
            ssm.delete_parameter(Name="/migranet/prod/app/sealing_key")
            assert fernet_key("SEALING_KEY") == sealing  # read once per container
        finally:
            keys._from_ssm.cache_clear()
            keys._ssm_client.cache_clear()
