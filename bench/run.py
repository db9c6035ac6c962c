"""`make bench`: the figures issue 8 asks for, each next to a baseline measured in the same run.

Prints figures and ratios; asserts nothing. Sections (run one with --only NAME):
  latency  1. POST /intake vs a bare Chalice route doing one PutItem (chalice.test.Client; moto in-process, moto
              server, DynamoDB Local)
  items    2. DynamoDB calls, items and capacity units per intake (per claim / reminder: once they exist)
  cold     3. cold start of a fresh process vs chalice+boto3+one PutItem (moto server), imports, package size
  sweep    4. reminder sweep with 1k/10k/100k appointments (moto in-process, DynamoDB Local)
  queue    5. one queue page of 50 with 1k/10k/100k cases stored (moto in-process, DynamoDB Local)
  memory   6. peak memory of a Lambda-like process handling 1,000 intakes vs the baseline
  cost     7. monthly AWS + Twilio estimate for 1,000 and 20,000 applicants (uses 1, 2 and 4)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cost as cost_model
from bench import dynamodb_local, inprocess
from bench.extension import parameters_extension

PROJECT_DIR = Path(__file__).resolve().parent.parent
Results = dict[str, Any]


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline else "n/a"


def section(title: str) -> None:
    print(f"\n== {title}")


def bench_latency(results: Results, args: argparse.Namespace) -> None:
    section(f"1. Intake latency, {args.requests} requests each (chalice.test.Client, moto in-process)")
    figures = inprocess.latency(args.requests)
    _print_latency(figures, "moto")
    _print_floor(figures)
    results["latency"] = figures
    print("  the same against moto's server on loopback (the issue's other endpoint; each call a round trip):")
    server, env, data = _moto_env()
    try:
        loopback = inprocess.latency_over_loopback(args.requests, env)
    finally:
        server.__exit__(None, None, None)
        data.cleanup()
    _print_latency(loopback, "moto server")
    _print_floor(loopback)
    results["latency_loopback"] = loopback
    if not _dynamodb_local_ready():
        return
    print("  the same with the tables on DynamoDB Local (AWS's local DynamoDB, a real index; each call a round trip):")
    with dynamodb_local.server() as endpoint:
        local = inprocess.latency(args.requests, endpoint)
    _print_latency(local, "DynamoDB Local")
    _print_floor(local)
    results["latency_dynamodb_local"] = local


def _dynamodb_local_ready() -> bool:
    if dynamodb_local.installed():
        return True
    print("  DynamoDB Local: skipped, not installed (`make bench` installs it; see bench/dynamodb_local.py)")
    return False


def _print_latency(figures: dict[str, dict[str, float]], where: str) -> None:
    intake, base = figures["intake"], figures["baseline"]
    for name, row in figures.items():
        print(
            f"  {name:9} median {row['median_ms']:7.2f} ms   p99 {row['p99_ms']:7.2f} ms"
            f"   {row['req_per_s']:7.1f} req/s"
        )
    print(
        f"  ratio     median {ratio(intake['median_ms'], base['median_ms'])}"
        f"   p99 {ratio(intake['p99_ms'], base['p99_ms'])}"
        f"   throughput {ratio(base['req_per_s'], intake['req_per_s'])} slower   (target <= 1.3x)"
    )
    print(f"  split of the median request: inside AWS calls ({where}) | everything else (app, Chalice, logging)")
    for name, row in figures.items():
        print(f"  {name:9} {row['aws_median_ms']:7.2f} ms | {row['own_median_ms']:7.2f} ms")
    print(
        f"  ratio     AWS calls {ratio(intake['aws_median_ms'], base['aws_median_ms'])}"
        f"   everything else {ratio(intake['own_median_ms'], base['own_median_ms'])}"
    )


def _print_floor(figures: dict[str, dict[str, float]]) -> None:
    floor, intake, base = figures["same-write"], figures["intake"], figures["baseline"]
    print(
        "  same-write: the bare route making the intake's own PutItem (the item an intake wrote, ~35 attributes,"
        " into the cases table with its 7 indexes, same condition), no other work:"
        f" vs baseline {ratio(floor['median_ms'], base['median_ms'])},"
        f" intake vs it {ratio(intake['median_ms'], floor['median_ms'])}"
        "  (a diagnostic: the floor for any code that stores this case item on this endpoint)"
    )


def bench_items(results: Results, args: argparse.Namespace) -> None:
    section("2. DynamoDB work per intake (counted with a botocore event hook)")
    figures = inprocess.items_per_intake(args.requests // 3 or 1)
    for label, row in (("first in a container", figures["first"]), ("warm", figures["warm"])):
        calls = ", ".join(f"{name} {n:g}" for name, n in row["calls"].items())
        print(f"  {label:20} calls: {calls}")
        print(
            f"  {'':20} items written {row['items_written']:g}, read {row['items_read']:g};"
            f" ~{row['wru']:g} WRU, ~{row['rru']:g} RRU"
        )
    print("  target: <= 2 items written per intake plus the idempotency record (3 with an Idempotency-Key)")
    stream = figures["stream"]
    calls = ", ".join(f"{name} {n:g}" for name, n in stream["calls"].items()) or "no call"
    print(
        f"  {'per intake, stream':20} items written {stream['items_written']:g}, read {stream['items_read']:g};"
        f" ~{stream['wru']:g} WRU, ~{stream['rru']:g} RRU   ({calls}: announce_routed_cases sends only what the"
        " request could not; a batch holding the request's clear of the marker asks for nothing; not part of the"
        " request)"
    )
    journey = inprocess.items_per_staff_journey(max(1, args.requests // 10))
    claim = journey["claim"]
    calls = ", ".join(f"{name} {n:g}" for name, n in claim["calls"].items())
    print(f"  {'per claim (warm)':20} calls: {calls}")
    print(
        f"  {'':20} items written {claim['items_written']:g}, read {claim['items_read']:g};"
        f" ~{claim['wru']:g} WRU, ~{claim['rru']:g} RRU   (the case and its audit entry, one transaction)"
    )
    for name, row in journey.items():
        if name == "claim":
            continue  # shown above
        calls = ", ".join(f"{call} {n:g}" for call, n in row["calls"].items())
        print(
            f"  {'per ' + name:20} items written {row['items_written']:g}, read {row['items_read']:g};"
            f" ~{row['wru']:g} WRU, ~{row['rru']:g} RRU   ({calls})"
        )
    print("  per reminder sent: see section 4 (the sweep)")
    results["items"] = figures
    results["staff"] = journey


def _moto_env() -> tuple[Any, dict[str, str], Any]:
    """A moto server child and the environment a fresh API process needs to use it."""
    sys.path.insert(0, str(PROJECT_DIR))
    from tests.reliability.live import api_environment, moto_server

    server = moto_server()
    url = server.__enter__()
    data = tempfile.TemporaryDirectory(prefix="migranet-bench-")
    env = api_environment(url, Path(data.name))
    import boto3

    boto3.client(
        "dynamodb", endpoint_url=url, region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).create_table(
        TableName="bench-baseline",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return server, env, data


def _deployed_copy(into: Path) -> Path:
    """The code as Lambda gets it (infrastructure/package.py: schemas inside, bytecode compiled),
    plus the bench's child script, so a cold start is measured as it will run."""
    from infrastructure.package import compile_bytecode, stage_project

    project = stage_project(into / "task", wheel_cache=into / "wheels")
    compile_bytecode(project)
    (project / "bench").mkdir()
    for name in ("__init__.py", "child.py"):
        shutil.copy2(PROJECT_DIR / "bench" / name, project / "bench" / name)
    return project


def _child(mode: str, count: int, env: dict[str, str], cwd: Path = PROJECT_DIR) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.child", mode, str(count)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])  # the app also logs JSON lines
    result["process_s"] = time.perf_counter() - started
    return result


def _import_breakdown(env: dict[str, str], cwd: Path = PROJECT_DIR) -> list[tuple[str, float]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            name = parts[2].strip()
            if "." not in name and name not in ("app", "chalicelib"):  # a package, wherever imported
                by_package[name] = max(by_package.get(name, 0.0), int(parts[1].strip()) / 1e6)
    return sorted(by_package.items(), key=lambda item: -item[1])[:8]


def _package_size() -> None:
    with tempfile.TemporaryDirectory(prefix="migranet-package-") as out:
        started = time.perf_counter()
        env = {**os.environ, "AWS_DEFAULT_REGION": "eu-central-1"}
        done = subprocess.run(
            [sys.executable, "-m", "infrastructure.package", "--stage", "prod", "--out", out],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"  package: `make package` failed ({done.stderr.strip()[-300:]})")
            return
        for archive in sorted(Path(out).rglob("*.zip")):
            with zipfile.ZipFile(archive) as package:
                sizes: Counter[str] = Counter()
                for info in package.infolist():
                    # A layer nests packages under python/lib/python3.x/site-packages/.
                    parts = [p for p in info.filename.split("/") if p]
                    if parts[:1] == ["python"]:
                        parts = parts[4:] if parts[1:2] == ["lib"] else parts[1:]
                    sizes[(parts or ["?"])[0]] += info.file_size
            total = sum(sizes.values())
            print(
                f"  package {archive.name}: {archive.stat().st_size / 2**20:.1f} MB zipped, {total / 2**20:.1f} MB"
                f" unzipped (built in {time.perf_counter() - started:.0f} s); largest:"
            )
            for name, size in sizes.most_common(8):
                print(f"    {name:32} {size / 2**20:6.1f} MB  {size / total:5.1%}")


# Where a deployed function reads its app keys (infrastructure/naming.py): SSM SecureStrings.
_KEY_PARAMETERS = {
    "SEALING_KEY_PARAMETER": "/migranet/bench/keys/sealing-key",
    "PHONE_HASH_KEY_PARAMETER": "/migranet/bench/keys/phone-hash-key",
}


def _as_deployed(env: dict[str, str]) -> dict[str, str]:
    """A deployed function's environment, as far as an intake cares: a stage other than local, so
    the sealing and phone-hash keys come from SSM parameters (on the moto server), not key files,
    and the queue URLs from the stack's prefix."""
    import boto3
    from cryptography.fernet import Fernet

    url = env["DYNAMODB_ENDPOINT"]
    ssm = boto3.client(
        "ssm", endpoint_url=url, region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    for parameter in _KEY_PARAMETERS.values():  # also starts moto's SSM backend, outside the timing
        ssm.put_parameter(Name=parameter, Value=Fernet.generate_key().decode(), Type="SecureString", Overwrite=True)
    # The stack also tells a function its partner queues' URL prefix (infrastructure/api.py); moto's
    # queues live under its default account on the server's own address.
    queues = f"{env['SQS_ENDPOINT'].rstrip('/')}/123456789012/"
    return {**env, "STAGE": "prod", "AWS_ENDPOINT_URL_SSM": url, "QUEUE_URL_PREFIX": queues, **_KEY_PARAMETERS}


COLD_VARIANTS = {  # label: what it is
    "cold-app": "app keys from local key files, as `make run`",
    "cold-app-ext": "as deployed: keys through the Parameters and Secrets extension (stand-in, bench/extension.py)",
    "cold-app-ssm": "as deployed without the extension: an SSM client of its own, one GetParameters call",
}


def bench_cold_start(results: Results, args: argparse.Namespace) -> None:
    section(f"3. Cold start: fresh process, import + first request, median of {args.cold_runs} (moto server)")
    print("  all run from the code as packaged for Lambda (with its bytecode; infrastructure/package.py)")
    server, env, data = _moto_env()
    try:
        task = _deployed_copy(Path(data.name) / "deployed")
        deployed = _as_deployed(env)
        with parameters_extension(env["DYNAMODB_ENDPOINT"]) as extension_env:
            variants = {  # label: (child mode, environment)
                "cold-app": ("cold-app", env),
                "cold-app-ext": ("cold-app", {**deployed, **extension_env}),
                "cold-app-ssm": ("cold-app", deployed),
                "cold-baseline": ("cold-baseline", env),
            }
            # Alternating runs: a slow spell of this shared machine then hits all sides alike.
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
            for _ in range(args.cold_runs):
                for label, (mode, variant_env) in variants.items():
                    runs[label].append(_child(mode, 1, variant_env, cwd=task))
        for label, rows in runs.items():
            print(
                f"  {label:14} import {statistics.median(r['import_s'] for r in rows) * 1000:6.0f} ms"
                f"   first request {statistics.median(r['first_request_s'] for r in rows) * 1000:6.0f} ms"
                f"   total {statistics.median(r['cold_total_s'] for r in rows) * 1000:6.0f} ms"
                f"   (process incl. interpreter {statistics.median(r['process_s'] for r in rows) * 1000:5.0f} ms)"
            )
        totals = {label: statistics.median(r["cold_total_s"] for r in rows) for label, rows in runs.items()}
        base_total = totals["cold-baseline"]
        for label, what in COLD_VARIANTS.items():
            print(f"  ratio {ratio(totals[label], base_total)}  {label:13} (target <= 1.3x)  {what}")
        print(
            "  slowest packages `import app` loads (cumulative): "
            + ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in _import_breakdown(env, cwd=task))
        )
        results["cold"] = {f"{label}_s": total for label, total in totals.items()}
    finally:
        server.__exit__(None, None, None)
        data.cleanup()
    if args.package:
        _package_size()
    else:
        print("  package size: skipped (--no-package)")


def bench_sweep(results: Results, args: argparse.Namespace) -> None:
    from bench.sweep import reminder_sweep

    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    section(
        f"4. Reminder sweep with {'/'.join(f'{s // 1000}k' for s in sizes)} future appointments and the same"
        " 100 due (send_due_messages, fake sender, no rate limit)"
    )
    repeats = 2 if args.quick else 3
    print("  moto in-process:")
    rows = reminder_sweep(sizes, due=100, repeats=repeats)
    _print_sweep(rows)
    print("  per reminder: the due-index query, a conditional claim, the appointment and its case's status (is it")
    print("  still booked?), the opt-out check, the SID write and the case's sms_sent counter. moto's time per call")
    print("  grows with the table (its GSI queries scan it); DynamoDB reads only the due items and what they")
    print("  name (the items-read figure), which is what stays flat.")
    results["sweep"] = rows
    results["sweep_dynamodb_local"] = _on_dynamodb_local(
        "sweep",
        lambda endpoint: reminder_sweep(sizes, due=100, repeats=repeats, dynamodb_endpoint=endpoint),
        _print_sweep,
    )


def _on_dynamodb_local(what: str, measure: Callable[[str], Any], show: Callable[[Any], None]) -> Any:
    """The same measurement with the tables on a fresh DynamoDB Local; None when it is not installed."""
    if not _dynamodb_local_ready():
        return None
    print(f"  DynamoDB Local (the same {what}, the tables on AWS's local DynamoDB, which reads an index by its key):")
    with dynamodb_local.server() as endpoint:
        rows = measure(endpoint)
    show(rows)
    return rows


def _print_sweep(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(
            f"  {row['appointments']:>7} appointments: median {row['median_ms']:8.1f} ms per sweep of {row['due']},"
            f" {row['items_read']:g} items read; per reminder sent: {row['items_read_per_reminder']:g} read,"
            f" {row['items_written_per_reminder']:g} written, {row['calls_per_reminder']:g} calls"
        )
    print(
        f"  ratio largest/1k: time {ratio(rows[-1]['median_ms'], rows[0]['median_ms'])},"
        f" items read {ratio(rows[-1]['items_read'], rows[0]['items_read'])}   (target <= 1.5x)"
    )


def bench_queue(results: Results, args: argparse.Namespace) -> None:
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    section(f"5. Queue page of 50 with {'/'.join(f'{s // 1000}k' for s in sizes)} cases (partner-status index)")
    print("  moto in-process:")
    rows = inprocess.queue_page(sizes, repeats=3)
    _print_queue(rows)
    print("  note: moto answers a GSI query by scanning the whole table, so its time grows with the table;")
    print("  DynamoDB bills and reads only the page (the items-read figure), which is what stays flat.")
    results["queue"] = rows
    results["queue_dynamodb_local"] = _on_dynamodb_local(
        "query", lambda endpoint: inprocess.queue_page(sizes, repeats=3, dynamodb_endpoint=endpoint), _print_queue
    )


def _print_queue(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(
            f"  {row['cases']:>7} cases: median {row['median_ms']:8.1f} ms, {row['queries_per_page']:g} query,"
            f" {row['items_read_per_page']:g} items read per page"
        )
    print(
        f"  ratio largest/1k: time {ratio(rows[-1]['median_ms'], rows[0]['median_ms'])},"
        f" items read {ratio(rows[-1]['items_read_per_page'], rows[0]['items_read_per_page'])}   (target <= 1.5x)"
    )


def bench_memory(results: Results, args: argparse.Namespace) -> None:
    section(f"6. Peak memory of one Lambda-like process handling {args.intakes} intakes (moto server)")
    # RSS from a plain run (tracemalloc's own bookkeeping would inflate it), heap peak from a traced one.
    # A fresh moto per run: moto deep-copies every table on each transaction, so a shared, growing
    # server makes each run slower (and the server itself grows to gigabytes).
    rows: dict[str, dict[str, Any]] = {}
    for kind in ("app", "baseline"):
        for measure, mode in (("rss", f"rss-{kind}"), ("heap", f"memory-{kind}")):
            server, env, data = _moto_env()
            try:
                rows.setdefault(kind, {})[measure] = _child(mode, args.intakes, env)
            finally:
                server.__exit__(None, None, None)
                data.cleanup()
    for kind, row in rows.items():
        print(
            f"  {kind:9} peak RSS {row['rss']['max_rss_mb']:6.1f} MB   Python heap peak"
            f" {row['heap']['traced_peak_mb']:6.1f} MB   errors {row['rss']['errors']}"
            f"   ({row['rss']['process_s']:.0f} s)"
        )
    app_rss, base_rss = rows["app"]["rss"]["max_rss_mb"], rows["baseline"]["rss"]["max_rss_mb"]
    print(f"  ratio peak RSS {ratio(app_rss, base_rss)}   (target: app < 128 MB)")
    results["memory"] = rows


def bench_cost(results: Results, args: argparse.Namespace) -> None:
    section("7. Running cost per month (list prices, see bench/prices.py)")
    if "latency" not in results or "items" not in results:
        print("  needs sections 1 and 2 in the same run")
        return
    reminder = results["sweep"][0] if "sweep" in results else None
    items = results["items"]
    measured = cost_model.Measured(items["warm"], results.get("staff"), reminder, items.get("stream"))
    for line in cost_model.report(results["latency"]["intake"], measured):
        print(f"  {line}")


SECTIONS: dict[str, Callable[[Results, argparse.Namespace], None]] = {
    "latency": bench_latency,
    "items": bench_items,
    "cold": bench_cold_start,
    "sweep": bench_sweep,
    "queue": bench_queue,
    "memory": bench_memory,
    "cost": bench_cost,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--quick", action="store_true", help="fewer requests, no 100k queue, no package")
    parser.add_argument("--no-package", dest="package", action="store_false", help="skip `make package` (slow)")
    parser.add_argument("--requests", type=int, default=300, help="requests per latency series")
    parser.add_argument("--intakes", type=int, default=1000, help="intakes in the memory run")
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.intakes, args.cold_runs, args.package = 100, 200, 3, False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Line by line, also into a pipe or file: figures appear as each section ends, and no buffered
    # text is copied into the moto server child that sections fork.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    print(f"MigraNet Intake benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    system = f"{platform.system()} {platform.release()}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}")
    results: Results = {}
    for name in args.only or list(SECTIONS):
        SECTIONS[name](results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
