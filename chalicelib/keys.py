"""Server-side secrets the functions need, fetched lazily (never at import time).

Order: an environment variable (tests, or injected by the deployment), then for the local
stage a key file in the local data folder created on first use, else an SSM SecureString
parameter named by `<NAME>_PARAMETER` (production; chalicelib/adapters/parameter_store.py).
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.config import settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# cryptography is imported where a key is created or used, not with this module: reading a key
# (the phone-hash key on every intake) needs none of it, and a cold Lambda pays for each import.


def _local_key_file(name: str) -> Path:
    from chalicelib.local.stack import data_dir

    return data_dir() / f"{name.lower().replace('_', '-')}.key"


def _create_once(path: Path) -> bytes:
    """The key in `path`, created on first use; concurrent first uses agree on one key."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    from cryptography.fernet import Fernet

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


# The app keys a function may be configured with (`<NAME>_PARAMETER`). The first one asked for
# brings all of them at once: a first intake needs both, and each read adds to a cold start.
APP_KEYS = ("SEALING_KEY", "PHONE_HASH_KEY")


@cache
def _from_ssm(parameter: str, region: str) -> bytes:
    from chalicelib.adapters import parameter_store

    configured = {os.environ.get(f"{name}_PARAMETER") for name in APP_KEYS} - {None, ""}
    values = parameter_store.read(tuple(sorted(configured | {parameter})), region)
    if parameter not in values:
        raise RuntimeError(f"SSM parameter {parameter} does not exist or cannot be read")
    return values[parameter]


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


def _fernet(key_name: str) -> Fernet:
    return _fernet_for(fernet_key(key_name))


@cache
def _fernet_for(key: bytes) -> Fernet:
    """Keyed by the key itself, so a rotated or recreated key is picked up at once."""
    from cryptography.fernet import Fernet

    return Fernet(key)


def seal(plain: str, key_name: str = "SEALING_KEY") -> str:
    return _fernet(key_name).encrypt(plain.encode()).decode()


def unseal(token: str, key_name: str = "SEALING_KEY") -> str | None:
    """None when the key changed since sealing (the caller degrades gracefully)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(key_name).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
