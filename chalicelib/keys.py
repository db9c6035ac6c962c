"""Server-side secrets the functions need, fetched lazily (never at import time).

Order: an environment variable (tests, or injected by the deployment), then for the local
stage a key file in the local data folder created on first use, else an SSM SecureString
parameter named by `<NAME>_PARAMETER` (production).
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from chalicelib.config import settings


def _local_key_file(name: str) -> Path:
    from chalicelib.local.stack import data_dir

    return data_dir() / f"{name.lower().replace('_', '-')}.key"


def _create_once(path: Path) -> bytes:
    """The key in `path`, created on first use; concurrent first uses agree on one key."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    temporary.write_bytes(Fernet.generate_key())
    os.chmod(temporary, 0o600)
    try:
        # link() publishes the complete file or fails if another process was first: readers never
        # see a half-written key (an O_EXCL create would expose an empty file for a moment).
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes().strip()


@cache
def _from_ssm(parameter: str, region: str) -> bytes:
    import boto3

    ssm = boto3.client("ssm", region_name=region)
    return ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"].encode()


def fernet_key(name: str) -> bytes:
    """A Fernet key: env `<name>`, local key file, or SSM parameter `<name>_PARAMETER`."""
    if os.environ.get(name):
        return os.environ[name].encode()
    current = settings()
    if current.stage == "local":
        return _create_once(_local_key_file(name))
    parameter = os.environ.get(f"{name}_PARAMETER")
    if not parameter:
        raise RuntimeError(f"{name} is not configured (set {name} or {name}_PARAMETER)")
    return _from_ssm(parameter, current.region)


def seal(plain: str, key_name: str = "SEALING_KEY") -> str:
    return Fernet(fernet_key(key_name)).encrypt(plain.encode()).decode()


def unseal(token: str, key_name: str = "SEALING_KEY") -> str | None:
    """None when the key changed since sealing (the caller degrades gracefully)."""
    try:
        return Fernet(fernet_key(key_name)).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
