"""``aicc policy check FILE...`` and ``aicc policy show FILE`` — programme policy files (政策配置).

``check`` prints ``OK <file>`` or every problem with its path and line; exit 0 only if all files
are valid, 1 if any is invalid, 2 on usage errors. ``show`` prints the resolved policy as JSON
(indicators flattened with their dimension, money in fen as well as yuan), YAML, or a table.
FILE may also be the name of a shipped policy (``shandong-2026``, ``demo``).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

import yaml

from aicc.platform.policy import Policy, PolicyError, find_policy, load_policy_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", help="check or show programme policy files (政策配置文件)")
    p.set_defaults(func=_usage(p))
    psub = p.add_subparsers(dest="policy_command", metavar="<subcommand>")
    check = psub.add_parser("check", help="validate policy files; exit 0 only if all are valid")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=run_check)
    show = psub.add_parser("show", help="print the resolved policy")
    show.add_argument("file", metavar="FILE", help="policy file, or the name of a shipped policy")
    show.add_argument("--format", choices=("json", "yaml", "table"), default="table")
    show.set_defaults(func=run_show)


def _usage(parser: argparse.ArgumentParser):
    def show(args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        return 2

    return show


def run(args: argparse.Namespace) -> int:  # dispatcher convention
    return args.func(args)


def resolve_policy(ref: str) -> Policy:
    """A path to a policy file, or the name of a shipped policy."""
    path = Path(ref)
    if path.exists() or "/" in ref or ref.endswith((".yaml", ".yml")):
        return load_policy_file(path)
    return find_policy(ref)


def run_check(args: argparse.Namespace) -> int:
    bad = 0
    for f in args.files:
        try:
            resolve_policy(f)
        except PolicyError as exc:
            bad += 1
            print(f"INVALID {f}: {len(exc.errors)} problem(s)")
            for path, msg in exc.errors:
                print(f"  {path or '<file>'}: {msg}")
            continue
        print(f"OK {f}")
    return 1 if bad else 0


def run_show(args: argparse.Namespace) -> int:
    try:
        policy = resolve_policy(args.file)
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(show_data(policy), ensure_ascii=False, indent=2, sort_keys=True))
    elif args.format == "yaml":
        print(yaml.safe_dump(show_data(policy), allow_unicode=True, sort_keys=False), end="")
    else:
        print(render_table(policy))
    return 0


def show_data(policy: Policy) -> dict:
    """The resolved policy: the file's content plus a flat ``indicator_list``."""
    data = policy.to_jsonable()
    data["indicator_list"] = [
        {
            "id": r.id,
            "dimension": r.dimension,
            "name": r.name,
            "name_en": r.name_en,
            "max_points": int(r.max_points)
            if r.max_points == r.max_points.to_integral_value()
            else float(r.max_points),
        }
        for r in policy.indicator_refs()
    ]
    return data


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * max(0, w - _width(s))
    return fill + s if right else s + fill


def format_table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    out = ["  ".join(_pad(h, widths[i], i in right) for i, h in enumerate(headers)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(_pad(c, widths[i], i in right) for i, c in enumerate(r)).rstrip())
    return "\n".join(out)


def render_table(p: Policy) -> str:
    lines = [
        f"{p.policy_id}: {p.title}",
        f"  {p.title_en}",
        f"scope {p.scope}, jurisdiction {p.jurisdiction}; valid {p.valid_from} .. {p.valid_until}",
        f"legal basis: {', '.join(p.legal_basis)}",
        f"budget {p.budget_yuan:,} yuan; award cap {p.award_cap_yuan:,} yuan; quota {p.quota}",
        "",
        "schedule:",
    ]
    lines += [f"  {k:<24} {v}" for k, v in p.schedule.items()]
    lines += ["", "indicators (max points):"]
    rows = []
    for dim in p.indicators:
        sub = sum((i.max_points for i in dim.indicators), start=type(dim.indicators[0].max_points)(0))
        rows.append([dim.dimension, f"{dim.name} {dim.name_en}", str(sub)])
        rows += [[f"  {i.id}", f"  {i.name} {i.name_en}", str(i.max_points)] for i in dim.indicators]
    lines.append(format_table(["id", "name", "max"], rows, right={2}))
    lines += ["", "tiers:"]
    lines.append(
        format_table(
            ["key", "name", "min score", "max count", "amount (yuan)"],
            [
                [
                    t.key,
                    t.name,
                    str(t.min_score),
                    "-" if t.max_count is None else str(t.max_count),
                    f"{t.amount_yuan:,}",
                ]
                for t in p.tiers
            ],
            right={2, 3, 4},
        )
    )
    s = p.scoring
    lines += [
        "",
        f"scoring: {s.decimals} decimals; trim highest+lowest from {s.trim_from_sheets} sheets; "
        f"justification below {s.justification_below} / above {s.justification_above} of max; "
        f"outlier > {s.outlier_sd} sd; tie breakers {', '.join(s.tie_breakers)}",
        f"panel: {p.panel.size} experts, max load {p.panel.max_load_per_expert}, "
        f"conflict lookback {p.panel.conflict_lookback_years} years",
        "fund use categories: " + ", ".join(c.code for c in p.fund_use_categories),
        "performance targets: "
        + ", ".join(f"{t.code}={t.target_value}{t.unit}" for t in p.performance_targets),
    ]
    return "\n".join(lines)
