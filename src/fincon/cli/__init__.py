"""The ``fincon`` command line.

Every command prints results to stdout and one-line errors to stderr (no traceback):
exit status 0 on success, 1 when a system or check failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from fincon.errors import FinconError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump, exit 2
        self.exit(2, f"fincon: error: {message} (see 'fincon --help')\n")


def _settings(pairs: Sequence[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--set takes KEY=VALUE, got {pair.split('=')[0]!r}")
        settings[key.strip()] = value
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fincon", description="fincon: one protocol over finance systems.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("systems", help="list registered systems and their capabilities")

    check = commands.add_parser("check", help="authenticate and make one cheap call")
    check.add_argument("system")
    _connection_options(check)

    export = commands.add_parser("export", help="export a resource as CSV, JSON Lines or Parquet")
    export.add_argument("system")
    export.add_argument("resource", help="a canonical resource name, e.g. vendor or bills")
    export.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="jsonl")
    export.add_argument("--since", help="only records updated since this ISO 8601 date or datetime")
    export.add_argument("--out", help="output file (default: stdout; required for parquet)")
    export.add_argument("--page-size", type=int, default=None)
    _connection_options(export)

    commands.add_parser(
        "demo", help="a short workflow on the built-in sandboxes (no network, no credentials)"
    )

    sandbox = commands.add_parser("sandbox", help="sandbox emulators")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, parser_class=_Parser)
    serve = sandbox_commands.add_parser("serve", help="serve a system's emulator on loopback")
    serve.add_argument("system")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--size", type=int, default=100, help="records per resource")

    audit = commands.add_parser("audit", help="audit trail tools")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    verify = audit_commands.add_parser("verify", help="verify a hash-chained JSON Lines audit file")
    verify.add_argument("file")
    return parser


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a connector setting (others come from FINCON_<SYSTEM>_<SETTING> variables)",
    )
    parser.add_argument("--sandbox", action="store_true", help="use the system's in-process emulator")


def _version() -> str:
    from fincon import __version__

    return f"fincon {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except FinconError as error:
        print(f"fincon: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except argparse.ArgumentTypeError as error:
        print(f"fincon: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fincon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from fincon.cli import _commands

    if args.command == "systems":
        return _commands.systems_command()
    if args.command == "check":
        return _commands.check_command(args.system, _settings(args.settings), sandbox=args.sandbox)
    if args.command == "export":
        return _commands.export_command(
            args.system,
            args.resource,
            fmt=args.format,
            since=args.since,
            out=args.out,
            page_size=args.page_size,
            settings=_settings(args.settings),
            sandbox=args.sandbox,
        )
    if args.command == "demo":
        from fincon.cli._demo import run_demo

        return run_demo(sys.stdout)
    if args.command == "sandbox":
        return _commands.serve_command(
            args.system, host=args.host, port=args.port, seed=args.seed, size=args.size
        )
    if args.command == "audit":
        return _commands.audit_verify_command(args.file)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover - argparse guards this
