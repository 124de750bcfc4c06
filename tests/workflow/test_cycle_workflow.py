"""The cycle workflow under time skipping, with stand-in activities registered under the real
names: phases in order, durable deadlines, validators that refuse illegal decisions without
changing state, the business key refusing a second start."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.cycle import models as m
from workflows.cycle.workflow import CycleWorkflow

BIN = Path(sys.executable).parent
HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle, name: str) -> None:
    """With AICC_RECORD_HISTORIES=<tag> (e.g. v3 after a workflow change), writes the finished
    workflow's history to histories/<tag>-<name>.json: test_replay.py replays every committed history
    against the current code, so each version's recorded years keep replaying."""
    tag = os.environ.get("AICC_RECORD_HISTORIES", "")
    if tag:
        HISTORIES.mkdir(exist_ok=True)
        path = HISTORIES / f"{tag}-{name}.json"
        path.write_text((await handle.fetch_history()).to_json(), encoding="utf-8")


class StandIns:
    """Records what the workflow asked of each service."""

    def __init__(self, apps: list[m.AppRef]) -> None:
        self.apps = apps
        self.calls: list[tuple[str, object]] = []
        self.phases: list[str] = []
        self.sheets_complete = True

    def all(self):  # noqa: C901 - one stand-in per activity, each trivial
        s = self

        @activity.defn(name="record_phase")
        async def record_phase(x: m.PhaseChange) -> None:
            s.phases.append(x.phase)

        @activity.defn(name="open_budget")
        async def open_budget(x: m.BudgetOpening) -> None:
            s.calls.append(("open_budget", x.total_fen))

        @activity.defn(name="close_application_window")
        async def close_application_window(cycle_id: str) -> list[m.AppRef]:
            return s.apps

        @activity.defn(name="record_recommendation")
        async def record_recommendation(x: m.RecommendationRecord) -> None:
            s.calls.append(("record_recommendation", x.city_code))

        @activity.defn(name="open_review")
        async def open_review(x: m.ReviewOpening) -> None:
            s.calls.append(("open_review", len(x.candidates)))

        @activity.defn(name="record_compliance")
        async def record_compliance(x: m.ComplianceRecord) -> None:
            s.calls.append(("record_compliance", len(x.decisions)))

        @activity.defn(name="draw_panels")
        async def draw_panels(x: m.PanelDraw) -> int:
            s.calls.append(("draw_panels", x.seed))
            return 5

        @activity.defn(name="compute_proposal")
        async def compute_proposal(x: m.ProposalRequest) -> m.ProposalSummary:
            if not s.sheets_complete:
                raise ApplicationError(
                    "2 score sheets missing",
                    {"zh": "缺2份评分表"},
                    type="FAILED_PRECONDITION",
                    non_retryable=True,
                )
            lines = [
                m.AwardLine(
                    a.application_id,
                    "",
                    a.city_code,
                    a.enterprise_name,
                    "excellent",
                    200_000_000,
                    i + 1,
                    "91.00",
                )
                for i, a in enumerate(s.apps)
            ]
            return m.ProposalSummary(1, lines, [], sum(line.amount_fen for line in lines))

        @activity.defn(name="reserve_funds")
        async def reserve_funds(x: m.Reservation) -> None:
            s.calls.append(("reserve_funds", sum(line.amount_fen for line in x.lines)))

        @activity.defn(name="deadline_after")
        async def deadline_after(x: m.DeadlineRequest) -> str:
            return (
                datetime.fromisoformat(x.start) + timedelta(seconds=x.span.seconds or 86400 * 7)
            ).isoformat()

        @activity.defn(name="open_publicity")
        async def open_publicity(x: m.PublicityOpening) -> None:
            s.calls.append(("open_publicity", x.proposal_version))

        @activity.defn(name="close_publicity")
        async def close_publicity(cycle_id: str) -> m.ProposalSummary:
            return await compute_proposal(m.ProposalRequest(cycle_id, 0))

        @activity.defn(name="disburse_award")
        async def disburse_award(x: m.DisbursementRequest) -> m.DisbursementResult:
            s.calls.append(("disburse_award", x.idempotency_key))
            return m.DisbursementResult(paid=True, treasury_reference="ref")

        @activity.defn(name="create_performance_targets")
        async def create_performance_targets(x: m.TargetsRequest) -> int:
            s.calls.append(("create_performance_targets", len(x.awards)))
            return len(x.awards)

        @activity.defn(name="supervision_status")
        async def supervision_status(cycle_id: str) -> m.SupervisionStatus:
            return m.SupervisionStatus(len(s.apps), len(s.apps), len(s.apps))

        return [
            record_phase,
            open_budget,
            close_application_window,
            record_recommendation,
            open_review,
            record_compliance,
            draw_panels,
            compute_proposal,
            reserve_funds,
            deadline_after,
            open_publicity,
            close_publicity,
            disburse_award,
            create_performance_targets,
            supervision_status,
        ]


def _input(cycle_id: str, now: datetime) -> m.CycleInput:
    return m.CycleInput(
        cycle_id=cycle_id,
        policy_id="test",
        policy_json="{}",
        budget_fen=2_000_000_000,
        applications_open_at=(now + timedelta(days=1)).isoformat(),
        applications_close_at=(now + timedelta(days=31)).isoformat(),
        city_review_due_at=(now + timedelta(days=51)).isoformat(),
        expert_review=m.Span(seconds=15 * 86400),
        publicity=m.Span(seconds=7 * 86400),
        supervision=m.Span(seconds=365 * 86400),
        performance_targets=[m.TargetTemplate("firms_served", "firms served", "家", "50")],
    )


APPS = [
    m.AppRef("app_a", "org_a", "op_a", "甲公司", "370100", "2026-01-01T00:00:00+00:00"),
    m.AppRef("app_b", "org_b", "op_b", "乙公司", "370200", "2026-01-01T00:00:00+00:00"),
]


def _actor(role: str, uid: str = "") -> m.Actor:
    return m.Actor(uid or f"usr_{role}", role, role)


@pytest.fixture
async def env():
    e = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    yield e
    await e.shutdown()


async def _status(handle) -> m.CycleStatus:
    return await handle.query("status", result_type=m.CycleStatus)


async def _wait_phase(env, handle, phase: str, step=timedelta(hours=6), limit=400):
    for _ in range(limit):
        st = await _status(handle)
        if st.phase == phase:
            return st
        await env.sleep(step)
    raise AssertionError(f"never reached {phase}; at {st.phase}")


async def _refused(handle, update: str, arg, code: str):
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await handle.execute_update(update, arg)
    assert isinstance(e.value.cause, ApplicationError), e.value.cause
    assert e.value.cause.type == code, e.value.cause
    return e.value.cause


def _signoff(city: str, role: str, items, doc="济工信字〔2026〕1号", uid=""):
    return m.CitySignoff(_actor(role, uid), city, doc, items)


async def test_a_cycle_runs_through_every_phase_and_refuses_illegal_decisions(env):
    stand = StandIns(APPS)
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[CycleWorkflow], activities=stand.all()):
        now = await env.get_current_time()
        cycle_id = f"t-{uuid.uuid4().hex[:6]}"
        handle = await env.client.start_workflow(
            "CycleWorkflow",
            _input(cycle_id, now.astimezone(UTC)),
            id=m.workflow_id(cycle_id),
            task_queue=queue,
            result_type=m.CycleStatus,
        )
        st = await _status(handle)
        assert st.phase == "PUBLISHED"
        # A decision in the wrong phase is refused and changes nothing.
        cause = await _refused(
            handle,
            "decide_finance_concurrence",
            m.ProposalDecision(_actor("province_finance"), 1, True, "ok"),
            "FAILED_PRECONDITION",
        )
        assert "PUBLISHED" in cause.message
        assert (await _status(handle)).phase == "PUBLISHED"

        # The same cycle cannot be started twice (business key).
        with pytest.raises(WorkflowAlreadyStartedError):
            await env.client.start_workflow(
                "CycleWorkflow",
                _input(cycle_id, now),
                id=m.workflow_id(cycle_id),
                task_queue=queue,
                result_type=m.CycleStatus,
            )

        await _wait_phase(env, handle, "APPLYING")
        st = await _wait_phase(env, handle, "CITY_REVIEW")
        assert st.counts.submitted == 2
        assert st.counts.cities_expected == 2

        items_a = [m.RecommendationItem("app_a", True, "推荐")]
        # Must list exactly the city's applications.
        await _refused(
            handle, "sign_city_recommendation", _signoff("370100", "city_industry", []), "INVALID_ARGUMENT"
        )
        r = await handle.execute_update(
            "sign_city_recommendation",
            _signoff("370100", "city_industry", items_a),
            result_type=m.SignoffResult,
        )
        assert not r.complete
        assert r.signed_roles == ["city_industry"]
        # The second bureau must agree on the same document and decisions.
        await _refused(
            handle,
            "sign_city_recommendation",
            _signoff("370100", "city_finance", items_a, doc="other"),
            "FAILED_PRECONDITION",
        )
        await _refused(
            handle, "sign_city_recommendation", _signoff("370100", "city_industry", items_a), "ALREADY_EXISTS"
        )
        r = await handle.execute_update(
            "sign_city_recommendation",
            _signoff("370100", "city_finance", items_a),
            result_type=m.SignoffResult,
        )
        assert r.complete
        items_b = [m.RecommendationItem("app_b", True, "推荐")]
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_industry", items_b, "青工信〔2026〕2号")
        )
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_finance", items_b, "青工信〔2026〕2号")
        )

        st = await _wait_phase(env, handle, "COMPLIANCE_REVIEW")
        assert st.counts.recommended == 2
        assert ("open_review", 2) in stand.calls
        await _refused(
            handle,
            "decide_compliance",
            m.ComplianceDecisions(_actor("province_industry"), [m.ComplianceItem("app_zzz", True, [])]),
            "NOT_FOUND",
        )
        await handle.execute_update(
            "decide_compliance",
            m.ComplianceDecisions(
                _actor("province_industry"),
                [m.ComplianceItem("app_a", True, []), m.ComplianceItem("app_b", True, [])],
            ),
        )
        await _wait_phase(env, handle, "EXPERT_REVIEW")
        # Concluding while sheets are missing is refused by review and leaves the phase unchanged.
        stand.sheets_complete = False
        await _refused(
            handle, "conclude_expert_review", m.Conclusion(_actor("province_industry")), "FAILED_PRECONDITION"
        )
        assert (await _status(handle)).phase == "EXPERT_REVIEW"
        stand.sheets_complete = True
        assert (
            await handle.execute_update(
                "conclude_expert_review", m.Conclusion(_actor("province_industry")), result_type=int
            )
            == 1
        )

        await _wait_phase(env, handle, "FINANCE_CONCURRENCE")
        await _refused(
            handle,
            "decide_finance_concurrence",
            m.ProposalDecision(_actor("province_finance"), 9, True, "ok"),
            "FAILED_PRECONDITION",
        )
        # Finance does not concur: back to PROPOSAL; resubmitted; then concurs.
        await handle.execute_update(
            "decide_finance_concurrence",
            m.ProposalDecision(_actor("province_finance"), 1, False, "请核实预算"),
        )
        await _wait_phase(env, handle, "PROPOSAL")
        await handle.execute_update("resubmit_proposal", m.Conclusion(_actor("province_industry"), "已核实"))
        await _wait_phase(env, handle, "FINANCE_CONCURRENCE")
        await handle.execute_update(
            "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), 1, True, "同意")
        )
        assert ("reserve_funds", 400_000_000) in stand.calls

        await _wait_phase(env, handle, "PARTY_GROUP_APPROVAL")
        await _refused(
            handle,
            "decide_party_group_approval",
            m.ProposalDecision(_actor("party_group"), 1, True, "", ""),
            "INVALID_ARGUMENT",
        )
        await handle.execute_update(
            "decide_party_group_approval",
            m.ProposalDecision(_actor("party_group"), 1, True, "同意", "厅党组会〔2026〕1次"),
        )

        await _wait_phase(env, handle, "PUBLICITY", step=timedelta(minutes=1))
        # Not before the publicity period (a durable timer) has run.
        await _refused(
            handle,
            "decide_publicity_outcome",
            m.PublicityOutcome(_actor("province_industry"), "鲁工信〔2026〕9号"),
            "FAILED_PRECONDITION",
        )
        await env.sleep(timedelta(days=8))
        await handle.execute_update(
            "decide_publicity_outcome", m.PublicityOutcome(_actor("province_industry"), "鲁工信〔2026〕9号")
        )

        st = await _wait_phase(env, handle, "SUPERVISING")
        assert st.counts.disbursed == 2
        keys = [k for name, k in stand.calls if name == "disburse_award"]
        assert keys == [f"{cycle_id}:app_a:v1", f"{cycle_id}:app_b:v1"]
        await handle.execute_update("conclude_supervision", m.Conclusion(_actor("province_industry")))
        result = await handle.result()
        assert result.phase == "CLOSED"
        assert [h.phase for h in result.history] == [
            "PUBLISHED",
            "APPLYING",
            "CITY_REVIEW",
            "COMPLIANCE_REVIEW",
            "EXPERT_REVIEW",
            "PROPOSAL",
            "FINANCE_CONCURRENCE",
            "PROPOSAL",
            "FINANCE_CONCURRENCE",
            "PARTY_GROUP_APPROVAL",
            "PUBLICITY",
            "ANNOUNCED",
            "DISBURSING",
            "SUPERVISING",
            "CLOSED",
        ]
        assert stand.phases == [h.phase for h in result.history]
        await keep_history(handle, "year-with-finance-return")


async def test_a_cycle_with_no_submission_closes_after_the_window(env):
    stand = StandIns([])
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[CycleWorkflow], activities=stand.all()):
        now = await env.get_current_time()
        handle = await env.client.start_workflow(
            "CycleWorkflow",
            _input("empty", now.astimezone(UTC)),
            id=m.workflow_id("empty"),
            task_queue=queue,
            result_type=m.CycleStatus,
        )
        result = await handle.result()
        assert result.phase == "CLOSED"
        assert "no eligible application" in result.note
        assert stand.phases == ["PUBLISHED", "APPLYING", "CLOSED"]
        await keep_history(handle, "year-without-submissions")


async def test_city_review_deadline_proceeds_with_the_cities_that_signed_and_refuses_late_sign_offs(env):
    stand = StandIns(APPS)
    queue = f"q-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[CycleWorkflow], activities=stand.all()):
        now = await env.get_current_time()
        handle = await env.client.start_workflow(
            "CycleWorkflow",
            _input("late", now.astimezone(UTC)),
            id=m.workflow_id("late"),
            task_queue=queue,
            result_type=m.CycleStatus,
        )
        await _wait_phase(env, handle, "CITY_REVIEW")
        items_a = [m.RecommendationItem("app_a", True, "推荐")]
        await handle.execute_update("sign_city_recommendation", _signoff("370100", "city_industry", items_a))
        await handle.execute_update("sign_city_recommendation", _signoff("370100", "city_finance", items_a))
        # Qingdao signs only once; then the city-review deadline (a durable timer) passes.
        items_b = [m.RecommendationItem("app_b", True, "推荐")]
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_industry", items_b, "青工信〔2026〕2号")
        )
        st = await _wait_phase(env, handle, "COMPLIANCE_REVIEW")
        assert st.counts.recommended == 1
        assert st.counts.cities_recommended == 1
        assert ("open_review", 1) in stand.calls  # only Jinan's application went on
        cause = await _refused(
            handle,
            "sign_city_recommendation",
            _signoff("370200", "city_finance", items_b, "青工信〔2026〕2号"),
            "FAILED_PRECONDITION",
        )
        assert "COMPLIANCE_REVIEW" in cause.message
