"""Benchmark the ranking engine: 10,000 applications x 7 experts x 15 indicators.

Times ``compute_proposal`` alone and the whole ``aicc rank`` command (CSV parsing included),
and prints each against baselines measured in the same run on the same machine, so the
numbers compare across machines: sorting 10,000 tuples, and summing 1,050,000 Decimals (the
number of points in the data set). Also times the former all-Decimal engine kept as the test
reference (tests/unit/_scoring_reference.py) and checks both give byte-identical JSON. Always
exits 0 (``make bench``); it reports, it does not judge. Goal: compute_proposal <= 0.5 s on a
developer machine (about 20 x sum-baseline).

    .venv/bin/python tools/bench_rank.py [--apps 10000] [--experts 7] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
import sys
import tempfile
import time
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aicc.cli import rank as rank_cmd  # noqa: E402
from aicc.platform.policy import find_policy  # noqa: E402
from services.review.domain.scoring import (  # noqa: E402
    Candidate,
    compute_proposal,
    proposal_to_json_rows,
)


def _timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def generate(policy, n_apps: int, n_experts: int, seed: int):
    rnd = random.Random(seed)  # noqa: S311 - synthetic benchmark data
    tz = dt.timezone(dt.timedelta(hours=8))
    t0 = dt.datetime(2026, 3, 1, 9, tzinfo=tz)
    refs = policy.indicator_refs()
    cands, sheets = [], {}
    for i in range(n_apps):
        app = f"APP-{i:05d}"
        cands.append(
            Candidate(app, f"企业{i}", "济南市", t0 + dt.timedelta(seconds=rnd.randrange(86400 * 30)))
        )
        quality = rnd.uniform(0.5, 1.0)
        sheets[app] = {
            f"E{e}": {
                r.id: (
                    r.max_points * Decimal(str(round(min(1.0, max(0.0, rnd.gauss(quality, 0.08))), 2)))
                ).quantize(Decimal("0.01"))
                for r in refs
            }
            for e in range(n_experts)
        }
    return cands, sheets


def write_csv(cands, sheets, directory: Path) -> tuple[Path, Path]:
    apps = directory / "apps.csv"
    scores = directory / "scores.csv"
    with apps.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(rank_cmd.APP_COLUMNS)
        for c in cands:
            w.writerow([c.application_id, c.enterprise, c.city, c.submitted_at.isoformat()])
    with scores.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(rank_cmd.SCORE_COLUMNS)
        for app, per_expert in sheets.items():
            for expert, sheet in per_expert.items():
                for iid, pts in sheet.items():
                    w.writerow([app, expert, iid, pts])
    return apps, scores


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", type=int, default=10_000)
    ap.add_argument("--experts", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    policy = find_policy("shandong-2026")
    n_ind = len(policy.indicator_ids())
    n_points = args.apps * args.experts * n_ind
    print(
        f"data: {args.apps:,} applications x {args.experts} experts x {n_ind} indicators = {n_points:,} points"
    )
    t = time.perf_counter()
    cands, sheets = generate(policy, args.apps, args.experts, args.seed)
    print(f"generate:                 {time.perf_counter() - t:8.3f} s (not measured below)")

    rnd = random.Random(args.seed)  # noqa: S311 - synthetic benchmark data
    tuples = [(Decimal(rnd.randrange(10000)) / 100, rnd.random(), f"APP-{i:05d}") for i in range(args.apps)]
    decimals = [Decimal(rnd.randrange(1000)) / 100 for _ in range(n_points)]
    base_sort = _timed(lambda: sorted(tuples), repeat=5)
    base_sum = _timed(lambda: sum(decimals, Decimal(0)), repeat=3)
    print(f"baseline sort {args.apps:,} tuples:     {base_sort:8.4f} s")
    print(f"baseline sum {n_points:,} Decimals: {base_sum:8.4f} s")

    lines: list = []

    def run_engine():
        lines[:] = compute_proposal(policy, cands, sheets)

    engine = _timed(run_engine, repeat=3)
    funded = sum(1 for ln in lines if ln.amount_fen)
    print(
        f"compute_proposal:         {engine:8.3f} s  = {engine / base_sum:6.1f} x sum-baseline, "
        f"{engine / base_sort:8.1f} x sort-baseline  ({len(lines):,} lines, {funded} funded)"
    )
    try:
        from tests.unit import _scoring_reference as reference
    except ImportError:  # e.g. an installed copy without the tests
        reference = None  # type: ignore[assignment]
    if reference is not None:
        ref_lines: list = []

        def run_reference() -> None:
            ref_lines.extend(reference.compute_proposal(policy, cands, sheets))

        ref = _timed(run_reference)
        same = json.dumps(proposal_to_json_rows(lines), ensure_ascii=False) == json.dumps(
            reference.proposal_to_json_rows(ref_lines), ensure_ascii=False
        )
        print(
            f"reference Decimal engine: {ref:8.3f} s  = {ref / base_sum:6.1f} x sum-baseline; "
            f"speed-up {ref / engine:4.1f} x; identical JSON: {'yes' if same else 'NO'}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        apps, scores = write_csv(cands, sheets, Path(tmp))
        size = (apps.stat().st_size + scores.stat().st_size) / 1e6
        parser = argparse.ArgumentParser()
        rank_cmd.add_parser(parser.add_subparsers())
        out = Path(tmp) / "out.json"
        ns = parser.parse_args(
            [
                "rank",
                "--policy",
                "shandong-2026",
                "--applications",
                str(apps),
                "--scores",
                str(scores),
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        codes: list[int] = []
        with redirect_stdout(io.StringIO()):
            cli = _timed(lambda: codes.append(ns.func(ns)))
        print(
            f"whole CLI (CSV {size:.1f} MB): {cli:8.3f} s  = {cli / base_sum:6.1f} x sum-baseline, "
            f"{cli / base_sort:8.1f} x sort-baseline  (exit {codes[0]})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
