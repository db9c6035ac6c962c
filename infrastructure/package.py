"""Builds the deployable artifact: `python -m infrastructure.package` (what `make package` runs).

Chalice ships only app.py, chalicelib/, vendor/ and requirements.txt, so the JSON Schemas have to
travel inside chalicelib/. They are copied into a staging copy of the project (build/stage), never
into the working tree, where a stale chalicelib/_schemas/ would shadow edits to schemas/.
Downloaded Lambda wheels are cached in build/cache so repeated builds stay fast.

chalicelib/, app.py and Chalice's runtime ship with their bytecode: Lambda's code directory is
read-only, so without it every cold start compiles them from source (~65 ms). Compiled with this
interpreter, the one `chalice package` also takes the Lambda runtime version from (python3.11).

Chalice copies `.chalice/policy-prod.json` into every function's role as it is; the merge template
replaces those copies with the same policy as `Fn::Sub` (infrastructure/iam.py), so each role grants
exactly the stage's tables, indexes and queues of the account the stack is in.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.config import PROJECT_DIR
from infrastructure.generate import DEPLOYED_STAGE, stale_files
from infrastructure.lint import cfn_lint, describe, errors, sam_to_cloudformation
from infrastructure.naming import TEMPLATE_PATH

BUILD_DIR = PROJECT_DIR / "build"
WHEEL_CACHE = BUILD_DIR / "cache" / "chalice-deployments"
DEPLOYED_PATHS = ["app.py", "chalicelib", "vendor", "requirements.txt"]
PACKAGED_SCHEMAS = Path("chalicelib") / "_schemas"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "_schemas")
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def stage_project(dest: Path, wheel_cache: Path = WHEEL_CACHE) -> Path:
    """A copy of what Chalice deploys, with schemas/ inside chalicelib/_schemas/."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in DEPLOYED_PATHS:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORED)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    shutil.copytree(PROJECT_DIR / "schemas", dest / PACKAGED_SCHEMAS)
    chalice_dir = dest / ".chalice"
    chalice_dir.mkdir()
    for config_file in (PROJECT_DIR / ".chalice").glob("*.json"):
        shutil.copy2(config_file, chalice_dir / config_file.name)
    wheel_cache.mkdir(parents=True, exist_ok=True)
    (chalice_dir / "deployments").symlink_to(wheel_cache.resolve(), target_is_directory=True)
    return dest


def compile_bytecode(project: Path) -> None:
    """Write the bytecode of chalicelib and app.py next to their sources, checked by hash of the
    source, not by its timestamp (a zip's timestamps are not the build's)."""
    compiled = compileall.compile_dir(project / "chalicelib", quiet=1, invalidation_mode=UNCHECKED)
    if not compiled:
        raise SystemExit(f"could not compile {project / 'chalicelib'}")
    py_compile.compile(str(project / "app.py"), doraise=True, invalidation_mode=UNCHECKED)


# Files `chalice package` puts in the code zip without their bytecode: the entry module and
# Chalice's own runtime (~2,300 lines; together ~25 ms of compiling on every cold start here).
SHIPPED_AS_SOURCE = ("app.py", "chalice/__init__.py", "chalice/app.py")


def add_shipped_bytecode(archive: Path) -> None:
    """Add to the code zip the bytecode of the sources Chalice ships without it, compiled from
    the very files in the zip."""
    tag = sys.implementation.cache_tag
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as code:
        present = set(code.namelist())
        for name in SHIPPED_AS_SOURCE:
            folder, _, file = name.rpartition("/")
            target = f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{tag}.pyc"
            if name not in present or target in present:
                continue
            source = Path(scratch) / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(code.read(name))
            compiled = Path(scratch) / target
            py_compile.compile(str(source), cfile=str(compiled), dfile=name, doraise=True, invalidation_mode=UNCHECKED)
            code.write(compiled, target)


def prune_wheel_cache(wheel_cache: Path = WHEEL_CACHE, keep: int = 3) -> None:
    """Chalice keys its cache by content, so every app change adds a zip: keep the newest few."""
    for prefix in ("managed-layer-", "appcode-"):
        zips = sorted(wheel_cache.glob(f"{prefix}*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in zips[keep:]:
            stale.unlink(missing_ok=True)


def chalice_executable() -> str:
    beside = Path(sys.executable).parent / "chalice"
    return str(beside) if beside.exists() else (shutil.which("chalice") or "chalice")


def package(
    out_dir: Path, stage: str = DEPLOYED_STAGE, work_dir: Path | None = None, require_current: bool = True
) -> Path:
    """Runs `chalice package --merge-template`; returns the merged SAM template's path."""
    stale = stale_files() if require_current else []
    if stale:
        names = ", ".join(str(p.relative_to(PROJECT_DIR)) for p in stale)
        raise SystemExit(f"out of date: {names}; run `python -m infrastructure.generate` and commit")
    project = stage_project(work_dir or BUILD_DIR / "stage")
    compile_bytecode(project)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    # `chalice package` needs a region even offline; it only fetches wheels from the package index.
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"}
    command = [
        chalice_executable(),
        "--project-dir",
        str(project),
        "package",
        "--stage",
        stage,
        "--merge-template",
        str(TEMPLATE_PATH),
        str(out_dir),
    ]
    with _cache_lock():
        subprocess.run(command, check=True, env=env, cwd=project)
        prune_wheel_cache()
    add_shipped_bytecode(out_dir / "deployment.zip")
    return out_dir / "sam.json"


@contextmanager
def _cache_lock() -> Iterator[None]:
    """Chalice writes cached zips in place: one build at a time, or a parallel one reads half a zip."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    with (WHEEL_CACHE.parent / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chalice package with the merged infrastructure template")
    # The merge template names the prod stage's resources; other stages are not deployed.
    parser.add_argument("--stage", default=DEPLOYED_STAGE, choices=[DEPLOYED_STAGE])
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "package")
    args = parser.parse_args(argv)
    template = package(args.out.resolve(), args.stage)
    # Lint what CloudFormation will really see: the SAM template and its transform.
    cloudformation = template.parent / "cloudformation-preview.json"
    cloudformation.write_text(json.dumps(sam_to_cloudformation(json.loads(template.read_text())), indent=1))
    problems = errors(cfn_lint(template)) + errors(cfn_lint(cloudformation))
    if problems:
        print(describe(problems), file=sys.stderr)
        return 1
    print(f"built {template} and {template.parent / 'deployment.zip'} (cfn-lint: no errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
