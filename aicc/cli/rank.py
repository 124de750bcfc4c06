"""``aicc rank`` — rank applications from expert score sheets and propose the award list (Art. 10-11).

    aicc rank --policy FILE --applications APPS.csv --scores SCORES.csv
              [--budget-yuan N] [--format table|json|xlsx] [--out FILE]

APPS.csv columns ``application_id,enterprise,city,submitted_at`` (ISO 8601 with a UTC offset);
SCORES.csv columns ``application_id,expert_id,indicator,score``. Any bad row stops the run with
the file name and line number. Exit status: 0 ok, 2 input or usage error.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from aicc.platform.policy import Policy, PolicyError
from services.review.domain.export import APP_COLUMNS, SCORE_COLUMNS
from services.review.domain.scoring import (
    Candidate,
    ProposalLine,
    ScoringError,
    compute_proposal,
    proposal_to_json_rows,
)

MAX_REPORTED = 20


class InputError(ValueError):
    """Bad input data; ``problems`` are ready-to-print lines naming file and line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank",
        help="rank applications from expert scores and propose awards (拟支持名单及资金分配建议)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--policy", required=True, metavar="FILE", help="policy file or shipped policy name")
    p.add_argument("--applications", required=True, metavar="APPS.csv")
    p.add_argument("--scores", required=True, metavar="SCORES.csv")
    p.add_argument("--budget-yuan", type=int, default=None, metavar="N", help="override the policy budget")
    p.add_argument("--format", choices=("table", "json", "xlsx"), default="table")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (required for xlsx)")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------ reading


def _open_csv(path: Path, columns: tuple[str, ...]) -> tuple[csv.DictReader[str], TextIO]:
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    reader = csv.DictReader(fh)
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    unknown = [c for c in header if c not in columns]
    if missing or unknown:
        fh.close()
        raise InputError(
            [
                f"{path}:1: header must be {','.join(columns)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            ]
        )
    return reader, fh


def read_applications(path: Path) -> tuple[list[Candidate], dict[str, int]]:
    """Candidates and the line each application id was defined on."""
    reader, fh = _open_csv(path, APP_COLUMNS)
    problems: list[str] = []
    out: list[Candidate] = []
    lines: dict[str, int] = {}
    with fh:
        try:
            for row in reader:
                ln = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    problems.append(f"{path}:{ln}: expected {len(APP_COLUMNS)} columns")
                    continue
                app_id = row["application_id"].strip()
                if not app_id:
                    problems.append(f"{path}:{ln}: empty application_id")
                    continue
                if app_id in lines:
                    problems.append(
                        f"{path}:{ln}: duplicate application_id {app_id!r} (first on line {lines[app_id]})"
                    )
                    continue
                raw = row["submitted_at"].strip()
                try:
                    ts = _dt.datetime.fromisoformat(raw)
                except ValueError:
                    problems.append(f"{path}:{ln}: submitted_at {raw!r} is not an ISO 8601 timestamp")
                    continue
                if ts.tzinfo is None:
                    problems.append(
                        f"{path}:{ln}: submitted_at {raw!r} has no UTC offset (write e.g. 2026-03-01T09:00:00+08:00)"
                    )
                    continue
                lines[app_id] = ln
                out.append(Candidate(app_id, row["enterprise"].strip(), row["city"].strip(), ts))
                if len(problems) >= MAX_REPORTED:
                    break
        except csv.Error as exc:
            problems.append(f"{path}:{reader.line_num}: {exc}")
    if problems:
        raise InputError(problems)
    return out, lines


class _ScoreSheets:
    """The score file read row by row: each row checked, the sheets built, problems collected."""

    def __init__(self, path: Path, policy: Policy, app_lines: dict[str, int]) -> None:
        self.path = path
        self.policy = policy
        self.app_lines = app_lines
        self.maxima = {r.id: r.max_points for r in policy.indicator_refs()}
        self.decimals = policy.scoring.decimals
        self.problems: list[str] = []
        self.sheets: dict[str, dict[str, dict[str, Decimal]]] = {}
        self.seen: dict[tuple[str, str, str], int] = {}
        self.first_line: dict[tuple[str, str], int] = {}
        # Per indicator, each distinct score text parsed and checked once: a year's file repeats a
        # few thousand texts a million times.
        self.valid: dict[str, dict[str, Decimal]] = {ind: {} for ind in self.maxima}

    def problem(self, line: int, text: str) -> None:
        self.problems.append(f"{self.path}:{line}: {text}")

    def points(self, line: int, app_id: str, expert: str, ind: str, raw: str) -> Decimal | None:
        """The row's points, or None with its problem recorded."""
        if app_id not in self.app_lines:
            self.problem(line, f"unknown application_id {app_id!r} (not in the applications file)")
            return None
        if not expert:
            self.problem(line, "empty expert_id")
            return None
        known = self.valid.get(ind)
        if known is None:
            self.problem(
                line,
                f"unknown indicator {ind!r} (policy {self.policy.policy_id} has {', '.join(self.maxima)})",
            )
            return None
        pts = known.get(raw)
        if pts is None:
            problem, pts = _check_score(raw, ind, self.maxima[ind], self.decimals)
            if problem:
                self.problem(line, problem)
                return None
            known[raw] = pts
        return pts

    def add(self, line: int, app_id: str, expert: str, ind: str, pts: Decimal) -> None:
        key = (app_id, expert, ind)
        if key in self.seen:
            self.problem(
                line,
                f"duplicate score for application {app_id}, expert {expert}, indicator {ind} "
                f"(first on line {self.seen[key]})",
            )
            return
        self.seen[key] = line
        sheet = self.sheets.setdefault(app_id, {}).get(expert)
        if sheet is None:
            sheet = self.sheets[app_id][expert] = {}
            self.first_line[(app_id, expert)] = line
        sheet[ind] = pts

    def check_complete(self) -> None:
        ids = list(self.maxima)
        for (app_id, expert), line in self.first_line.items():
            sheet = self.sheets[app_id][expert]
            if len(sheet) != len(ids):
                missing = [i for i in ids if i not in sheet]
                self.problem(
                    line,
                    f"the sheet of expert {expert} for application {app_id} (starting on this line) "
                    f"lacks indicator(s) {', '.join(missing)}",
                )
                if len(self.problems) >= MAX_REPORTED:
                    return


def read_scores(
    path: Path, policy: Policy, app_lines: dict[str, int]
) -> dict[str, dict[str, dict[str, Decimal]]]:
    reader, fh = _open_csv(path, SCORE_COLUMNS)
    out = _ScoreSheets(path, policy, app_lines)
    # A plain csv.reader (the header was checked above).
    header = reader.fieldnames or []
    i_app, i_exp, i_ind, i_score = (header.index(c) for c in SCORE_COLUMNS)
    width = len(header)
    rows = csv.reader(fh, dialect=reader.reader.dialect)
    base = reader.line_num  # lines the header took
    with fh:
        try:
            for row in rows:
                if not row:  # blank lines are skipped, as csv.DictReader does
                    continue
                if len(out.problems) >= MAX_REPORTED:
                    break
                line = base + rows.line_num
                if len(row) != width:
                    out.problem(line, f"expected {len(SCORE_COLUMNS)} columns")
                    continue
                app_id, expert, ind = row[i_app].strip(), row[i_exp].strip(), row[i_ind].strip()
                pts = out.points(line, app_id, expert, ind, row[i_score].strip())
                if pts is not None:
                    out.add(line, app_id, expert, ind, pts)
        except csv.Error as exc:
            out.problem(base + rows.line_num, str(exc))
    if not out.problems:
        out.check_complete()
    if out.problems:
        raise InputError(out.problems)
    return out.sheets


def _check_score(raw: str, ind: str, mx: Decimal, decimals: int) -> tuple[str, Decimal]:
    """(problem, points): the problem is "" for a valid score."""
    try:
        pts = Decimal(raw)
    except InvalidOperation:
        pts = None
    if pts is None or not pts.is_finite():
        return f"score {raw!r} is not a number", Decimal(0)
    if pts < 0 or pts > mx:
        return f"score {raw} for indicator {ind} is outside 0..{mx}", pts
    exp = pts.as_tuple().exponent
    if isinstance(exp, int) and -exp > decimals:
        return f"score {raw} has more than {decimals} decimal places", pts
    return "", pts


# ------------------------------------------------------------------------------------ writing


def _wan(fen: int) -> Decimal:
    """fen -> 万元 (10,000 yuan), 2 decimals."""
    return (Decimal(fen) / Decimal(1_000_000)).quantize(Decimal("0.01"))


def render_table(lines: list[ProposalLine]) -> str:
    from aicc.cli.policy_cmd import format_table

    rows = [
        [
            str(ln.rank),
            ln.enterprise,
            ln.city,
            str(ln.final_score),
            ln.tier,
            f"{_wan(ln.amount_fen):,}",
            "reserve 候补" if ln.reserve else "",
        ]
        for ln in lines
    ]
    return format_table(
        ["rank", "enterprise", "city", "score", "tier", "amount (万元)", "reserve"], rows, right={0, 3, 5}
    )


def write_xlsx(lines: list[ProposalLine], out: Path, policy: Policy) -> None:
    from services.review.domain.export_files import Column, table_xlsx

    dims = policy.dimensions()
    two, money = "0.00", "#,##0.00"
    columns = [
        Column("rank", 6),
        Column("application_id", 16),
        Column("enterprise", 30),
        Column("city", 10),
        Column("final_score", None, two),
        *(Column(f"dimension {d}", None, two) for d in dims),
        Column("tier"),
        Column("amount (万元)", None, money),
        Column("reserve"),
        Column("budget left (万元)", None, money),
        Column("tie_break"),
        Column("reason"),
    ]
    rows = [
        [ln.rank, ln.application_id, ln.enterprise, ln.city, ln.final_score]
        + [ln.dimension_scores[d] for d in dims]
        + [ln.tier, _wan(ln.amount_fen), ln.reserve, _wan(ln.budget_left_fen), ln.tie_break or "", ln.reason]
        for ln in lines
    ]
    out.write_bytes(table_xlsx(columns, rows, sheet_title="proposal"))


# ------------------------------------------------------------------------------------ command


def _load_policy(ref: str) -> Policy:
    from aicc.cli.policy_cmd import resolve_policy

    return resolve_policy(ref)


def build_proposal(
    policy: Policy, applications: Path, scores: Path, budget_yuan: int | None = None
) -> list[ProposalLine]:
    """Read both CSV files and compute the proposal; raises :class:`InputError`."""
    candidates, app_lines = read_applications(applications)
    sheets = read_scores(scores, policy, app_lines)
    unscored = [a for a in app_lines if a not in sheets]
    if unscored:
        raise InputError(
            [
                f"{applications}:{app_lines[a]}: application {a} has no score sheets in {scores}"
                for a in unscored
            ][:MAX_REPORTED]
        )
    budget_fen = None if budget_yuan is None else budget_yuan * 100
    try:
        return compute_proposal(policy, candidates, sheets, budget_fen=budget_fen)
    except ScoringError as exc:  # should be unreachable after the checks above
        raise InputError([f"{scores}: {w}: {p}" for w, p in exc.problems[:MAX_REPORTED]]) from None


def run(args: argparse.Namespace) -> int:
    if args.budget_yuan is not None and args.budget_yuan < 0:
        print("aicc rank: --budget-yuan must be >= 0", file=sys.stderr)
        return 2
    if args.format == "xlsx" and not args.out:
        print("aicc rank: --format xlsx requires --out FILE", file=sys.stderr)
        return 2
    try:
        policy = _load_policy(args.policy)
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        lines = build_proposal(policy, Path(args.applications), Path(args.scores), args.budget_yuan)
    except InputError as exc:
        print("aicc rank: input error / 输入数据有误:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else None
    if args.format == "xlsx":
        if out is None:
            print("--format xlsx needs --out FILE", file=sys.stderr)
            return 2
        write_xlsx(lines, out, policy)
        print(f"wrote {len(lines)} rows to {out}", file=sys.stderr)
        return 0
    if args.format == "json":
        text = json.dumps(proposal_to_json_rows(lines), ensure_ascii=False, indent=2) + "\n"
    else:
        text = render_table(lines) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
