"""``aicc`` — entry point. Each sub-command lives in its own module exposing ``add_parser(sub)``;
the parser it adds sets ``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order shown by ``aicc --help``.
COMMAND_MODULES = [
    "aicc.cli.up",
    "aicc.cli.serve",
    "aicc.cli.worker",
    "aicc.cli.codec_server",
    "aicc.cli.migrate",
    "aicc.cli.audit_cmd",
    "aicc.cli.demo",
    "aicc.cli.policy_cmd",
    "aicc.cli.calendar_cmd",
    "aicc.cli.rank",
    "aicc.cli.uscc_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aicc",
        description="Shandong Industrial AI Capability Center award programme (山东省工业领域AI能力中心奖补).",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    code = args.func(args)
    sys.stdout.flush()
    sys.stderr.flush()
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
