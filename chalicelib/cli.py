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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, arguments, _handler) in sorted(_COMMANDS.items()):
        arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    return _COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
