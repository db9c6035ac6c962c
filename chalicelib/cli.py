"""Operator commands: `python -m chalicelib.cli <command> --help`.

Each command is a function registered with @command; it talks to the stage the
environment points at (the running local stack when started from `make run`'s shell
settings, see chalicelib/local/).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a sub-command: `arguments` adds its options, the decorated function runs it."""

    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = (help_text, arguments, handler)
        return handler

    return register


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--create-tables", action="store_true", help="also create tables/queues (local stage only)")


@command("seed", "write the default partners and routing rules into the stage's directory table", _seed_arguments)
def seed(args: argparse.Namespace) -> int:
    from chalicelib.adapters.dynamodb.directory_store import seed_directory
    from chalicelib.adapters.dynamodb.models import bind
    from chalicelib.config import settings
    from chalicelib.data import default_partners, default_routing_rules

    if args.create_tables:
        from chalicelib.local.provision import provision

        provision(settings())
    else:
        bind(settings())
        seed_directory(default_partners(), default_routing_rules())
    print("seeded partners and routing rules")
    return 0


@command("list-schedules", "list the app's scheduled functions and their rates")
def list_schedules(args: argparse.Namespace) -> int:
    from chalicelib.local.scheduler import discover, load_app

    functions = discover(load_app())
    for function in functions:
        note = f"  (local scheduler: on demand only, {function.problem})" if function.problem else ""
        print(f"{function.function_name:<28} {function.expression:<24} {function.description}{note}".rstrip())
    if not functions:
        print("no scheduled functions")
    return 0


def _run_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the scheduled function's Python name, e.g. send_due_messages")
    parser.add_argument("--traceback", action="store_true", help="show the full error if the tick fails")


@command(
    "run-schedule",
    "run one tick of a scheduled function now (against the running local stack)",
    _run_schedule_arguments,
)
def run_schedule(args: argparse.Namespace) -> int:
    import json

    from chalicelib.config import settings
    from chalicelib.local.scheduler import UnknownScheduleError, discover, find, invoke, load_app

    app = load_app()
    try:
        function = find(discover(app), args.name)
    except UnknownScheduleError as error:
        known = ", ".join(error.known) or "none"
        print(f"unknown scheduled function {error.name!r}; known: {known}", file=sys.stderr)
        return 2
    current = settings()
    if current.stage == "local" and not current.dynamodb_endpoint:
        print("the local stack is not running: start it with `make run` (or set DYNAMODB_ENDPOINT)", file=sys.stderr)
        return 1
    try:
        result = invoke(app, function, current.stage, current.region)
    except Exception as error:
        if args.traceback:
            raise
        print(f"{function.function_name} failed: {type(error).__name__} (--traceback shows details)", file=sys.stderr)
        return 1
    print(f"ran {function.function_name}" + (f": {json.dumps(result, default=str)}" if result is not None else ""))
    return 0


def _staff_token_arguments(parser: argparse.ArgumentParser) -> None:
    from chalicelib.data import default_partners

    partners = [p["id"] for p in default_partners()]
    parser.add_argument("--partner", required=True, choices=partners, help="the staff member's institution")
    parser.add_argument("--role", choices=["staff", "coordinator"], default="staff")
    parser.add_argument("--name", default=None, help='display name, e.g. "Anna Berger"')
    parser.add_argument("--sub", default=None, help="staff id (default: derived from partner, role and name)")
    parser.add_argument("--hours", type=float, default=8.0, help="validity (default 8)")


@command(
    "staff-token",
    "print a staff bearer token signed with the local stack's key (local stage only)",
    _staff_token_arguments,
)
def staff_token(args: argparse.Namespace) -> int:
    from chalicelib.adapters.tokens import issue_local_token
    from chalicelib.config import settings

    current = settings()
    if current.auth_mode != "local":
        print(f"stage {current.stage!r} signs staff in with Cognito; local tokens are not accepted", file=sys.stderr)
        return 2
    name = args.name or ("Local Coordinator" if args.role == "coordinator" else "Local Staff")
    token = issue_local_token(current, partner=args.partner, role=args.role, name=name, sub=args.sub, hours=args.hours)
    print(token)  # only the token on stdout: TOKEN=$(python -m chalicelib.cli staff-token ...)
    print(f"{args.role} of {args.partner}, valid {args.hours:g} h; send as 'Authorization: Bearer …'", file=sys.stderr)
    return 0


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    from chalicelib.local.demo_data import DEFAULT_COUNT, DEFAULT_SEED

    parser.add_argument("--api-url", default=None, help="the API (default: the stack `make run` started)")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help=f"applicants (default {DEFAULT_COUNT})")
    parser.add_argument("--seed", default=DEFAULT_SEED, help="another seed gives other applicants")


@command(
    "demo",
    "fill the running local stack with ~50 sample applicants, some claimed, closed or booked (safe to repeat)",
    _demo_arguments,
)
def demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chalicelib.config import settings
    from chalicelib.local.demo import StackNotRunningError, run
    from chalicelib.local.stack import data_dir, read_stack_file

    current = settings()
    if current.auth_mode != "local":
        print(f"stage {current.stage!r} is not the local stack; the demo only fills `make run`", file=sys.stderr)
        return 2
    info = read_stack_file(data_dir())
    api_url = args.api_url or (info.api_url if info else None)
    not_running = "the local stack is not running: start it with `make run` in another terminal, then `make demo`"
    if api_url is None:
        print(not_running, file=sys.stderr)
        return 1
    state_dir = Path(info.data_dir) if info and not args.api_url else data_dir()
    try:
        run(api_url, current, state_dir, sys.stdout, args.seed, args.count)
    except StackNotRunningError as error:
        print(f"{error}\n{not_running}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    from chalicelib.local.stack import use_running_stack

    use_running_stack()  # commands typed beside `make run` talk to that stack
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, arguments, _handler) in sorted(_COMMANDS.items()):
        arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    return _COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
