"""The ``tonecls`` command line.

Each subcommand is a thin layer: it parses options, calls one public Python function of the
package (the same one notebooks call) and prints a short summary. Heavy imports happen inside
the handlers so that ``tonecls --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from tonecls import __version__
from tonecls.errors import ToneclsError

Registrar = Callable[["argparse._SubParsersAction"], None]


# --- subcommands -------------------------------------------------------------------------
# Each ``_add_<name>`` registers one subcommand and sets ``func`` to its handler.


# (subcommands are registered in COMMANDS at the bottom of this file)


COMMANDS: list[Registrar] = []


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="tonecls",
        description="Sentiment and emotional-tone classification of social media posts, "
        "batch scoring and bias audit reports.",
    )
    parser.add_argument("--version", action="version", version=f"tonecls {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tonecls`` command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except ToneclsError as error:
        print(f"tonecls {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tonecls {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
