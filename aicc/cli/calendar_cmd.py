"""``aicc calendar check [FILE|DIR ...]`` — the official working-day calendar files (工作日历).

Each ``<year>.yaml`` transcribes one State Council holiday notice (:mod:`aicc.platform.calendars`).
``check`` validates every file given (a directory: each ``*.yaml`` in it; nothing given: the
calendar directory in force, ``AICC_CALENDAR_DIR`` or the shipped ``policies/calendars/``) and
prints per file the year, the notice's 文号, the number of holidays and adjusted working days and
the file's sha256. Exit 0 only if every file is valid, 1 if any is not (each problem printed with
the file's name), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aicc.platform.calendars import CalendarFileError, load_calendar_file
from aicc.platform.workdays import calendar_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calendar", help="check the official working-day calendar files (工作日历)")
    p.set_defaults(func=_usage(p))
    csub = p.add_subparsers(dest="calendar_command", metavar="<subcommand>")
    check = csub.add_parser("check", help="validate calendar files; exit 0 only if all are valid")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="FILE|DIR",
        help="calendar files or directories (default: AICC_CALENDAR_DIR, else the shipped policies/calendars)",
    )
    check.set_defaults(func=run_check)


def _usage(parser: argparse.ArgumentParser):
    def show(args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        return 2

    return show


def _files(ref: Path) -> list[Path] | str:
    """The files to check for one argument, or why there are none."""
    if ref.is_dir():
        found = sorted(ref.glob("*.yaml"))
        return found or f"no calendar files (<year>.yaml) in {ref}"
    if ref.exists():
        return [ref]
    return "no such file or directory"


def run_check(args: argparse.Namespace) -> int:
    refs = [Path(p) for p in args.paths] or [calendar_dir()]
    bad = 0
    for ref in refs:
        files = _files(ref)
        if isinstance(files, str):
            bad += 1
            print(f"INVALID {ref}: {files}")
            continue
        for f in files:
            try:
                cal = load_calendar_file(f)
            except CalendarFileError as exc:
                bad += 1
                print(f"INVALID {f}: {len(exc.problems)} problem(s)")
                for problem in exc.problems:
                    print(f"  {problem}")
                continue
            print(
                f"OK {f}: year {cal.year} revision {cal.revision}, {cal.notice.document_no} "
                f"({cal.notice.published_on}), {len(cal.holidays)} holidays "
                f"({len(cal.holiday_dates)} days off), {len(cal.adjusted_working_days)} adjusted working days, "
                f"sha256 {cal.sha256}"
            )
    return 1 if bad else 0
