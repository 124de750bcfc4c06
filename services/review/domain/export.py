"""Export the inputs of a proposal as the two CSV files ``aicc rank`` reads (APPS.csv and
SCORES.csv, docs/data-formats.md), so that officials and auditors can recompute every rank,
score, tier and amount independently of the service. Pure functions, no I/O."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

from aicc.platform.policy import Policy
from services.review.domain.scoring import Candidate

__all__ = ["APP_COLUMNS", "SCORE_COLUMNS", "export_csv", "policy_file_text"]

APP_COLUMNS = ("application_id", "enterprise", "city", "submitted_at")
SCORE_COLUMNS = ("application_id", "expert_id", "indicator", "score")


def export_csv(
    candidates: Sequence[Candidate], sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]]
) -> tuple[str, str]:
    """(APPS.csv text, SCORES.csv text) for these candidates and their score sheets
    ({application: {expert: {indicator: points}}}).

    Exact: points are written as their Decimal text ("7.50" stays "7.50"), submission times as
    ISO 8601 with the offset they carry (the service stores UTC, so tie-break explanations read
    the same in ``aicc rank``). Rows follow the candidates' order; experts are sorted by id,
    indicators keep the sheet's order. Only sheets of the given candidates are written.
    """
    apps = io.StringIO()
    w = csv.writer(apps, lineterminator="\n")
    w.writerow(APP_COLUMNS)
    for c in candidates:
        w.writerow([c.application_id, c.enterprise, c.city, c.submitted_at.isoformat()])
    scores = io.StringIO()
    w = csv.writer(scores, lineterminator="\n")
    w.writerow(SCORE_COLUMNS)
    for c in candidates:
        per_expert = sheets.get(c.application_id) or {}
        for expert in sorted(per_expert):
            for indicator, points in per_expert[expert].items():
                w.writerow([c.application_id, expert, indicator, str(points)])
    return apps.getvalue(), scores.getvalue()


def policy_file_text(policy_json: str) -> str:
    """A cycle's policy snapshot (the JSON the review stores) as a policy file ``aicc rank
    --policy`` reads (JSON is YAML): the file's keys only, without the derived ``*_fen`` fields."""
    policy = Policy.from_json(policy_json)
    return json.dumps(policy.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
