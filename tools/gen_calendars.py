"""Write ``policies/calendars/<year>.yaml`` from the ``chinese_calendar`` package, for the years it
knows, so that the province's calendar files and the package agree day by day
(``tests/unit/test_calendars.py`` checks every day of every generated year).

    python tools/gen_calendars.py 2025 2026       # (re)write those years' files
    python tools/gen_calendars.py --check 2025 2026   # exit 1 if a file differs from what it would write

Only a year listed in NOTICES (the State Council notice the package transcribes: title, 文号,
publication date, where it was published) is written. A year the package does not know yet (2027
today) is NOT generated: the province transcribes its notice by hand into ``<year>.yaml`` and
checks it with ``aicc calendar check`` (ARCHITECTURE.md, "Working days").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from importlib.metadata import version
from pathlib import Path

import chinese_calendar as cc
from chinese_calendar.constants import Holiday

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "policies" / "calendars"

# The notices the package's data transcribes. Checked against the texts as published by Xinhua
# (新华社受权发布) on the dates given.
NOTICES: dict[int, dict[str, str]] = {
    2025: {
        "title": "国务院办公厅关于2025年部分节假日安排的通知",
        "document_no": "国办发明电〔2024〕12号",
        "published_on": "2024-11-12",
        "source_url": "https://m.gmw.cn/2024-11/12/content_1303894933.htm",
    },
    2026: {
        "title": "国务院办公厅关于2026年部分节假日安排的通知",
        "document_no": "国办发明电〔2025〕7号",
        "published_on": "2025-11-04",
        "source_url": "https://politics.gmw.cn/2025-11/04/content_38391083.htm",
    },
}

# The package abbreviates some festivals; the notices' own names.
ZH = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _blocks(year: int) -> list[tuple[list[str], list[str], dt.date, dt.date]]:
    """Consecutive days off of ``year`` as (zh names, en names, first, last), in date order."""
    days = sorted(d for d in cc.holidays if d.year == year)
    out: list[tuple[list[str], list[str], dt.date, dt.date]] = []
    for d in days:
        h = Holiday(cc.holidays[d])
        zh, en = ZH.get(h.chinese, h.chinese), h.value
        if out and out[-1][3] + dt.timedelta(days=1) == d:
            names_zh, names_en, first, _ = out[-1]
            if zh not in names_zh:
                names_zh.append(zh)
                names_en.append(en)
            out[-1] = (names_zh, names_en, first, d)
        else:
            out.append(([zh], [en], d, d))
    return out


def render(year: int) -> str:
    notice = NOTICES[year]
    lines = [
        f"# The official working-day calendar for {year}: {notice['title']} ({notice['document_no']}).",
        f"# GENERATED from chinese-calendar {version('chinese-calendar')} by `python tools/gen_calendars.py {year}`;",
        "# do not edit by hand (tests/unit/test_calendars.py checks it against the package day by day).",
        "# Holidays: every day off, weekends inside them included. Adjusted working days: 调休上班.",
        f"year: {year}",
        "revision: 1",
        "notice:",
        f"  title: {_q(notice['title'])}",
        f"  document_no: {_q(notice['document_no'])}",
        f"  published_on: {notice['published_on']}",
        f"  source_url: {_q(notice['source_url'])}",
        "holidays:",
    ]
    for zh, en, first, last in _blocks(year):
        lines.append(f"  - name: {_q('、'.join(zh))}")
        lines.append(f"    name_en: {_q(', '.join(en))}")
        lines.append(f"    from: {first.isoformat()}")
        lines.append(f"    to: {last.isoformat()}")
    lines.append("adjusted_working_days:")
    for d in sorted(d for d in cc.workdays if d.year == year):
        lines.append(f"  - {d.isoformat()}  # {d.strftime('%A')}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("years", nargs="+", type=int)
    ap.add_argument("--check", action="store_true", help="only report files that differ")
    args = ap.parse_args(argv)
    known = {d.year for d in cc.holidays}
    status = 0
    for year in args.years:
        if year not in known:
            print(
                f"{year}: chinese-calendar does not know {year}; transcribe its notice by hand",
                file=sys.stderr,
            )
            return 2
        if year not in NOTICES:
            print(f"{year}: add the notice's title, 文号, date and URL to NOTICES first", file=sys.stderr)
            return 2
        path = OUT / f"{year}.yaml"
        text = render(year)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            print(f"differs: {path.relative_to(ROOT)}")
            status = 1
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
