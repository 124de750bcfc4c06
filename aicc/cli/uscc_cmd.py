"""``aicc uscc check CODE...`` — validate unified social credit codes (统一社会信用代码, GB 32100-2015).

Exit status: 0 when every code is valid, 1 when any is invalid, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys

from aicc.platform.jurisdictions import city_for_division
from services.identity.domain.uscc import check_uscc, division_code, normalize_uscc


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("uscc", help="unified social credit code tools (统一社会信用代码)")
    p.set_defaults(func=_usage(p))
    usub = p.add_subparsers(dest="uscc_command", metavar="<subcommand>")
    check = usub.add_parser("check", help="validate codes; exit 0 only if all are valid")
    check.add_argument("codes", nargs="+", metavar="CODE")
    check.add_argument("--zh", action="store_true", help="print problems in Chinese")
    check.set_defaults(func=run)


def _usage(parser: argparse.ArgumentParser):
    def show(args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        return 2

    return show


def _describe_location(code: str) -> str:
    div = division_code(code)
    city = city_for_division(div)
    if city is not None:
        return f"city {city.code} {city.name}"
    return f"division {div}"


def run(args: argparse.Namespace) -> int:
    codes = list(getattr(args, "codes", None) or [])
    if not codes:
        print("usage: aicc uscc check CODE...", file=sys.stderr)
        return 2
    zh = bool(getattr(args, "zh", False))
    all_valid = True
    for raw in codes:
        shown = normalize_uscc(raw) or repr(raw)
        problems = check_uscc(raw)
        if not problems:
            print(f"{shown}  valid  ({_describe_location(raw)})")
            continue
        all_valid = False
        text = "; ".join(p.message_zh if zh else p.message for p in problems)
        print(f"{shown}  invalid: {text}")
    return 0 if all_valid else 1
