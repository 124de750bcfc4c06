"""Histories of finished years, recorded with earlier versions of the cycle workflow, replay against
the current code: a change that would alter what an old year does fails here (histories are
recorded by running tests/workflow/test_cycle_workflow.py with AICC_RECORD_HISTORIES=<version>, and
the demo year from a real suite by tools/record_history.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workflows.cycle import models as m
from workflows.cycle.models import CycleInput, CycleStatus
from workflows.cycle.workflow import CycleWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text(encoding="utf-8"))


def test_there_are_histories_to_replay():
    stems = {p.stem for p in HISTORIES}
    # v1: before the typed contract (string results, no patches); v2: typed; v3: records, counts,
    # approval loops and healing (issue 9).
    for version in ("v1", "v2", "v3"):
        assert {f"{version}-year-with-finance-return", f"{version}-year-without-submissions"} <= stems
    assert "v3-year-with-upheld-objection" in stems
    # A complete year from a real suite (awards, objection, disbursement, supervision), recorded by
    # tools/record_history.py with its payloads decoded.
    assert "v3-demo-year" in stems


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_a_recorded_year_replays_on_the_current_workflow(path):
    result = await Replayer(workflows=[CycleWorkflow]).replay_workflow(_history(path))
    assert result.replay_failure is None


@workflow.defn(name=m.WORKFLOW_NAME)
class UnpatchedChange(CycleWorkflow):
    """The kind of edit ARCHITECTURE.md warns about: one more activity before the year starts,
    without ``workflow.patched``."""

    @workflow.run
    async def run(self, inp: CycleInput) -> CycleStatus:
        await workflow.execute_activity(
            "deadline_after",
            m.DeadlineRequest(workflow.now().isoformat(), m.Span(seconds=1)),
            start_to_close_timeout=timedelta(seconds=5),
        )
        return await super().run(inp)


@pytest.mark.parametrize("stem", ["v1-year-with-finance-return", "v3-demo-year"])
async def test_an_unpatched_change_fails_the_replay(stem):
    history = _history(next(p for p in HISTORIES if p.stem == stem))
    with pytest.raises(NondeterminismError):
        await Replayer(workflows=[UnpatchedChange]).replay_workflow(history)
