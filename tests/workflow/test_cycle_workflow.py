"""The cycle workflow under time skipping, with stand-in activities registered under the real
names: phases in order, durable deadlines (and their extension), validators that refuse illegal
decisions without changing state, the business key refusing a second start, approvals that a
changed list must pass again, revision of a returned proposal, a year that heals (an outage retried,
a refused step needing attention until resumed), and payloads that do not grow with the year."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.cycle import models as m
from workflows.cycle.activities import CycleActivities
from workflows.cycle.workflow import CycleWorkflow

BIN = Path(sys.executable).parent
HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle, name: str) -> None:
    """With AICC_RECORD_HISTORIES=<tag> (e.g. v3 after a workflow change), writes the finished
    workflow's history to histories/<tag>-<name>.json: test_replay.py replays every committed history
    against the current code, so each version's recorded years keep replaying."""
    tag = os.environ.get("AICC_RECORD_HISTORIES", "")
    if tag:
        HISTORIES.mkdir(exist_ok=True)
        path = HISTORIES / f"{tag}-{name}.json"
        path.write_text((await handle.fetch_history()).to_json(), encoding="utf-8")


def refusal(code: str, message: str, reason: str = "") -> ApplicationError:
    return ApplicationError(message, {"zh": message, "reason": reason or code}, type=code, non_retryable=True)


class StandIns:
    """Records what the workflow asked of each service; each answer can be made to fail."""

    def __init__(self, by_city: dict[str, int]) -> None:
        self.by_city = by_city
        self.calls: list[tuple[str, object]] = []
        self.phases: list[str] = []
        self.decisions: list[m.DecisionRecord] = []
        self.sheets_complete = True
        self.recommended = 0
        self.version = 0
        self.publicity_changes = 0  # how many publicity closings change the list
        self.refuse: dict[str, ApplicationError] = {}  # activity name -> refusal (until cleared)
        self.outage_until: dict[str, timedelta] = {}  # activity name -> failing this long

    def _gate(self, name: str) -> None:
        if name in self.refuse:
            raise self.refuse[name]
        if name in self.outage_until:
            info = activity.info()
            waited = info.current_attempt_scheduled_time - info.scheduled_time
            if waited < self.outage_until[name]:
                raise RuntimeError(f"{name}: connection refused (attempt {info.attempt})")

    def _summary(self, version: int, changed: bool = False) -> m.ProposalSummary:
        lines = [
            m.AwardLine(f"app_{i}", f"org_{i}", city, f"企业{i}", "excellent", 200_000_000, i + 1, "91.00")
            for i, city in enumerate(sorted(self.by_city)[:15])
        ]
        return m.ProposalSummary(
            version, lines, [], sum(x.amount_fen for x in lines), reserve_count=3, changed=changed
        )

    def all(self):  # noqa: C901 - one stand-in per activity, each trivial
        s = self

        @activity.defn(name="record_phase")
        async def record_phase(x: m.PhaseChange) -> None:
            s.phases.append(x.phase)

        @activity.defn(name="open_budget")
        async def open_budget(x: m.BudgetOpening) -> None:
            s._gate("open_budget")
            s.calls.append(("open_budget", x.total_fen))

        @activity.defn(name="close_application_window")
        async def close_application_window(cycle_id: str) -> m.Submissions:
            s._gate("close_application_window")
            return m.Submissions(sum(s.by_city.values()), dict(s.by_city))

        @activity.defn(name="record_recommendation")
        async def record_recommendation(x: m.RecommendationRecord) -> m.RecommendationOutcome:
            s._gate("record_recommendation")
            s.calls.append(("record_recommendation", x.city_code))
            n = sum(1 for i in x.items if i.recommended)
            s.recommended += n
            return m.RecommendationOutcome(n)

        @activity.defn(name="open_review")
        async def open_review(x: m.ReviewOpening) -> int:
            s.calls.append(("open_review", len(x.candidates)))
            return s.recommended

        @activity.defn(name="record_compliance")
        async def record_compliance(x: m.ComplianceRecord) -> m.ComplianceOutcome:
            s.calls.append(("record_compliance", len(x.decisions)))
            return m.ComplianceOutcome(len(x.decisions), sum(d.compliant for d in x.decisions), 0)

        @activity.defn(name="draw_panels")
        async def draw_panels(x: m.PanelDraw) -> int:
            s.calls.append(("draw_panels", x.seed))
            return 5

        @activity.defn(name="compute_proposal")
        async def compute_proposal(x: m.ProposalRequest) -> m.ProposalSummary:
            if not s.sheets_complete:
                raise refusal("FAILED_PRECONDITION", "2 score sheets missing")
            s.version = max(s.version, 1)
            return s._summary(s.version)

        @activity.defn(name="revise_proposal")
        async def revise_proposal(x: m.RevisionRequest) -> m.ProposalSummary:
            s.calls.append(("revise_proposal", x.base_version))
            s.version += 1
            return s._summary(s.version)

        @activity.defn(name="reserve_funds")
        async def reserve_funds(x: m.Reservation) -> None:
            s.calls.append(("reserve_funds", (x.proposal_version, sum(line.amount_fen for line in x.lines))))

        @activity.defn(name="deadline_after")
        async def deadline_after(x: m.DeadlineRequest) -> str:
            s._gate("deadline_after")
            return (
                datetime.fromisoformat(x.start) + timedelta(seconds=x.span.seconds or 86400 * 7)
            ).isoformat()

        @activity.defn(name="open_publicity")
        async def open_publicity(x: m.PublicityOpening) -> None:
            s.calls.append(("open_publicity", x.proposal_version))

        @activity.defn(name="close_publicity")
        async def close_publicity(cycle_id: str) -> m.ProposalSummary:
            if s.publicity_changes:
                s.publicity_changes -= 1
                s.version += 1
                return s._summary(s.version, changed=True)
            return s._summary(s.version)

        @activity.defn(name="record_announcement")
        async def record_announcement(x: m.AnnouncementRecord) -> None:
            s.calls.append(("record_announcement", (x.proposal_version, x.document_no)))

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
            return m.SupervisionStatus(15, 15, 15)

        @activity.defn(name="record_supervision_conclusion")
        async def record_supervision_conclusion(x: m.ConclusionRecord) -> None:
            s.calls.append(("record_supervision_conclusion", x.summary))

        @activity.defn(name="close_budget")
        async def close_budget(cycle_id: str) -> None:
            s.calls.append(("close_budget", cycle_id))

        @activity.defn(name="record_decision")
        async def record_decision(x: m.DecisionRecord) -> None:
            s.decisions.append(x)

        @activity.defn(name="record_outcomes")
        async def record_outcomes(x: m.OutcomesRequest) -> int:
            s.calls.append(("record_outcomes", x.stage))
            return 1

        return [
            record_phase,
            open_budget,
            close_application_window,
            record_recommendation,
            open_review,
            record_compliance,
            draw_panels,
            compute_proposal,
            revise_proposal,
            reserve_funds,
            deadline_after,
            open_publicity,
            close_publicity,
            record_announcement,
            disburse_award,
            create_performance_targets,
            supervision_status,
            record_supervision_conclusion,
            close_budget,
            record_decision,
            record_outcomes,
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
        fiscal_year=2026,
        tier_caps=[m.TierCap("excellent", 200_000_000), m.TierCap("advanced", 100_000_000)],
        published_where="山东省工业和信息化厅门户网站",
    )


TWO_CITIES = {"370100": 1, "370200": 1}


def _actor(role: str, uid: str = "") -> m.Actor:
    return m.Actor(uid or f"usr_{role}", role, role, request_id=uuid.uuid4().hex)


@pytest.fixture
async def env():
    e = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    yield e
    await e.shutdown()


async def _status(handle) -> m.CycleStatus:
    return await handle.query(CycleWorkflow.status)


async def _wait_phase(env, handle, phase: str, step=timedelta(hours=6), limit=400):
    for _ in range(limit):
        st = await _status(handle)
        if st.phase == phase:
            return st
        await env.sleep(step)
    raise AssertionError(f"never reached {phase}; at {st.phase}")


async def _wait_attention(env, handle, limit=100):
    for _ in range(limit):
        st = await _status(handle)
        if st.attention is not None:
            return st
        await env.sleep(timedelta(minutes=1))
    raise AssertionError("the cycle never needed attention")


async def _refused(handle, update: str, arg, code: str):
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await handle.execute_update(update, arg)
    assert isinstance(e.value.cause, ApplicationError), e.value.cause
    assert e.value.cause.type == code, e.value.cause
    return e.value.cause


def _signoff(city: str, role: str, items, doc="济工信字〔2026〕1号", uid=""):
    return m.CitySignoff(_actor(role, uid), city, doc, items)


async def _start(env, stand: StandIns, cycle_id: str) -> WorkflowHandle:
    now = await env.get_current_time()
    return await env.client.start_workflow(
        CycleWorkflow.run,
        _input(cycle_id, now.astimezone(UTC)),
        id=m.workflow_id(cycle_id),
        task_queue=stand.queue,
    )


def _worker(env, stand: StandIns) -> Worker:
    stand.queue = f"q-{uuid.uuid4()}"
    return Worker(env.client, task_queue=stand.queue, workflows=[CycleWorkflow], activities=stand.all())


async def _sign_all(handle, by_city: dict[str, int]) -> None:
    for i, (city, n) in enumerate(sorted(by_city.items())):
        items = [m.RecommendationItem(f"app_{city}_{k}", True, "推荐") for k in range(n)]
        doc = f"联字〔2026〕{i + 1}号"
        await handle.execute_update("sign_city_recommendation", _signoff(city, "city_industry", items, doc))
        await handle.execute_update("sign_city_recommendation", _signoff(city, "city_finance", items, doc))


async def _to_finance(env, handle, by_city=TWO_CITIES) -> None:
    await _wait_phase(env, handle, "CITY_REVIEW")
    await _sign_all(handle, by_city)
    await _wait_phase(env, handle, "COMPLIANCE_REVIEW")
    ids = [f"app_{c}_{k}" for c, n in sorted(by_city.items()) for k in range(n)]
    for start in range(0, len(ids), 500):  # intake sends a province's decisions in batches of 500
        batch = [m.ComplianceItem(a, True, []) for a in ids[start : start + 500]]
        await handle.execute_update(
            "decide_compliance", m.ComplianceDecisions(_actor("province_industry"), batch)
        )
    await _wait_phase(env, handle, "EXPERT_REVIEW")
    await handle.execute_update("conclude_expert_review", m.Conclusion(_actor("province_industry")))
    await _wait_phase(env, handle, "FINANCE_CONCURRENCE")


async def _approve(env, handle, version: int) -> None:
    await handle.execute_update(
        "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), version, True, "同意")
    )
    await _wait_phase(env, handle, "PARTY_GROUP_APPROVAL")
    await handle.execute_update(
        "decide_party_group_approval",
        m.ProposalDecision(_actor("party_group"), version, True, "同意", "厅党组会〔2026〕1次"),
    )
    await _wait_phase(env, handle, "PUBLICITY", step=timedelta(minutes=1))


async def _announce_and_close(env, handle) -> m.CycleStatus:
    await env.sleep(timedelta(days=8))
    await handle.execute_update(
        "decide_publicity_outcome", m.PublicityOutcome(_actor("province_industry"), "鲁工信〔2026〕9号")
    )
    await _wait_phase(env, handle, "SUPERVISING")
    await handle.execute_update("conclude_supervision", m.Conclusion(_actor("province_industry"), "完成"))
    return await handle.result()


async def test_a_cycle_runs_through_every_phase_and_refuses_illegal_decisions(env):
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        cycle_id = f"t-{uuid.uuid4().hex[:6]}"
        handle = await _start(env, stand, cycle_id)
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
            await _start(env, stand, cycle_id)

        await _wait_phase(env, handle, "APPLYING")
        st = await _wait_phase(env, handle, "CITY_REVIEW")
        assert st.counts.submitted == 2
        assert st.counts.cities_expected == 2

        items_a = [m.RecommendationItem("app_370100_0", True, "推荐")]
        # A city with no submission cannot sign.
        await _refused(
            handle,
            "sign_city_recommendation",
            _signoff("370300", "city_industry", items_a),
            "FAILED_PRECONDITION",
        )
        r = await handle.execute_update(
            CycleWorkflow.sign_city_recommendation, _signoff("370100", "city_industry", items_a)
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
            CycleWorkflow.sign_city_recommendation, _signoff("370100", "city_finance", items_a)
        )
        assert r.complete
        items_b = [m.RecommendationItem("app_370200_0", True, "推荐")]
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_industry", items_b, "青工信〔2026〕2号")
        )
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_finance", items_b, "青工信〔2026〕2号")
        )

        st = await _wait_phase(env, handle, "COMPLIANCE_REVIEW")
        assert st.counts.recommended == 2
        assert ("open_review", 0) in stand.calls  # review reads the candidates from intake itself
        await _refused(
            handle,
            "decide_compliance",
            m.ComplianceDecisions(_actor("province_industry"), [m.ComplianceItem("app_370100_0", False, [])]),
            "INVALID_ARGUMENT",
        )
        await handle.execute_update(
            "decide_compliance",
            m.ComplianceDecisions(
                _actor("province_industry"),
                [m.ComplianceItem("app_370100_0", True, []), m.ComplianceItem("app_370200_0", True, [])],
            ),
        )
        await _refused(
            handle,
            "decide_compliance",
            m.ComplianceDecisions(_actor("province_industry"), [m.ComplianceItem("app_370100_0", True, [])]),
            "FAILED_PRECONDITION",
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
                CycleWorkflow.conclude_expert_review, m.Conclusion(_actor("province_industry"))
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
        assert ("reserve_funds", (1, 400_000_000)) in stand.calls

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
        assert keys == [f"{cycle_id}:app_0:v1", f"{cycle_id}:app_1:v1"]
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
        # Every decision is on record in intake, in order; every stage's outcome sent to intake.
        assert [d.kind for d in stand.decisions] == [
            "EXPERT_REVIEW_CONCLUDED",
            "FINANCE_CONCURRENCE",
            "PROPOSAL_RESUBMITTED",
            "FINANCE_CONCURRENCE",
            "PARTY_GROUP",
            "PUBLICITY_OUTCOME",
            "SUPERVISION_CONCLUDED",
        ]
        assert [d.approve for d in stand.decisions if d.kind == "FINANCE_CONCURRENCE"] == [False, True]
        assert stand.decisions[4].reference == "厅党组会〔2026〕1次"
        assert len({d.idempotency_key for d in stand.decisions}) == len(stand.decisions)
        stages = [x for name, x in stand.calls if name == "record_outcomes"]
        assert stages == ["COMPLIANCE", "PROPOSAL", "ANNOUNCED", "DISBURSED"]
        assert ("record_announcement", (1, "鲁工信〔2026〕9号")) in stand.calls
        assert ("close_budget", cycle_id) in stand.calls
        await keep_history(handle, "year-with-finance-return")


async def test_a_cycle_with_no_submission_closes_after_the_window(env):
    stand = StandIns({})
    async with _worker(env, stand):
        handle = await _start(env, stand, "empty")
        result = await handle.result()
        assert result.phase == "CLOSED"
        assert "no eligible application" in result.note
        assert stand.phases == ["PUBLISHED", "APPLYING", "CLOSED"]
        assert ("close_budget", "empty") in stand.calls  # the unspent envelope goes back
        await keep_history(handle, "year-without-submissions")


async def test_city_review_deadline_proceeds_with_the_cities_that_signed_and_refuses_late_sign_offs(env):
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        handle = await _start(env, stand, "late")
        await _wait_phase(env, handle, "CITY_REVIEW")
        items_a = [m.RecommendationItem("app_370100_0", True, "推荐")]
        await handle.execute_update("sign_city_recommendation", _signoff("370100", "city_industry", items_a))
        await handle.execute_update("sign_city_recommendation", _signoff("370100", "city_finance", items_a))
        # Qingdao signs only once; then the city-review deadline (a durable timer) passes.
        items_b = [m.RecommendationItem("app_370200_0", True, "推荐")]
        await handle.execute_update(
            "sign_city_recommendation", _signoff("370200", "city_industry", items_b, "青工信〔2026〕2号")
        )
        st = await _wait_phase(env, handle, "COMPLIANCE_REVIEW")
        assert st.counts.recommended == 1
        assert st.counts.cities_recommended == 1
        cause = await _refused(
            handle,
            "sign_city_recommendation",
            _signoff("370200", "city_finance", items_b, "青工信〔2026〕2号"),
            "FAILED_PRECONDITION",
        )
        assert "COMPLIANCE_REVIEW" in cause.message


async def test_a_list_changed_in_publicity_goes_back_through_finance_party_group_and_publicity(env):
    stand = StandIns(TWO_CITIES)
    stand.publicity_changes = 1  # an upheld objection: version 2 replaces version 1
    async with _worker(env, stand):
        handle = await _start(env, stand, "changed")
        await _to_finance(env, handle)
        await _approve(env, handle, 1)
        await env.sleep(timedelta(days=8))
        assert (
            await handle.execute_update(
                CycleWorkflow.decide_publicity_outcome,
                m.PublicityOutcome(_actor("province_industry"), "鲁工信〔2026〕9号"),
            )
            == 2
        )
        # Nothing is announced or paid: version 2 needs finance, the party group and its own publicity.
        st = await _wait_phase(env, handle, "FINANCE_CONCURRENCE")
        assert st.proposal_version == 2
        assert "version 2" in st.history[-2].note  # why the list went back, on the PROPOSAL entry
        assert st.history[-2].phase == "PROPOSAL"
        assert not [c for c in stand.calls if c[0] in ("disburse_award", "record_announcement")]
        await _refused(
            handle,
            "decide_finance_concurrence",
            m.ProposalDecision(_actor("province_finance"), 1, True, "旧版本"),
            "FAILED_PRECONDITION",
        )
        await _approve(env, handle, 2)
        assert [v for name, v in stand.calls if name == "open_publicity"] == [1, 2]
        result = await _announce_and_close(env, handle)
        assert result.phase == "CLOSED"
        phases = [h.phase for h in result.history]
        assert phases.count("FINANCE_CONCURRENCE") == 2
        assert phases.count("PARTY_GROUP_APPROVAL") == 2
        assert phases.count("PUBLICITY") == 2
        assert [v for name, (v, _) in ((n, x) for n, x in stand.calls if n == "reserve_funds")] == [1, 2]
        keys = [k for name, k in stand.calls if name == "disburse_award"]
        assert keys
        assert all(k.endswith(":v2") for k in keys)
        await keep_history(handle, "year-with-upheld-objection")


async def test_a_returned_proposal_is_revised_before_it_is_resubmitted(env):
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        handle = await _start(env, stand, "revised")
        await _to_finance(env, handle)
        change = m.ProposalChange("app_0", 150_000_000, "核减：算力投入未全部到位")
        # Not before a return: revision is for a proposal finance or the party group sent back.
        await _refused(
            handle,
            "revise_proposal",
            m.ProposalRevision(_actor("province_industry"), 1, [change]),
            "FAILED_PRECONDITION",
        )
        await handle.execute_update(
            "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), 1, False, "金额偏高")
        )
        await _wait_phase(env, handle, "PROPOSAL")
        await _refused(
            handle,
            "revise_proposal",
            m.ProposalRevision(_actor("province_industry"), 1, []),
            "INVALID_ARGUMENT",
        )
        version = await handle.execute_update(
            CycleWorkflow.revise_proposal,
            m.ProposalRevision(_actor("province_industry"), 1, [change], "按财政意见核减"),
        )
        assert version == 2
        assert (await _status(handle)).proposal_version == 2
        await handle.execute_update("resubmit_proposal", m.Conclusion(_actor("province_industry"), "已修改"))
        await _wait_phase(env, handle, "FINANCE_CONCURRENCE")
        await _refused(
            handle,
            "decide_finance_concurrence",
            m.ProposalDecision(_actor("province_finance"), 1, True, "同意"),
            "FAILED_PRECONDITION",
        )
        await handle.execute_update(
            "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), 2, True, "同意")
        )
        assert ("revise_proposal", 1) in stand.calls
        revised = [d for d in stand.decisions if d.kind == "PROPOSAL_REVISED"]
        assert len(revised) == 1
        assert revised[0].opinion == "按财政意见核减"


async def test_a_decision_request_is_taken_once(env):
    """A sealed payload replayed from the history (same request id) cannot take a decision twice."""
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        handle = await _start(env, stand, "once")
        await _to_finance(env, handle)
        returned = m.ProposalDecision(_actor("province_finance"), 1, False, "请核实")
        await handle.execute_update("decide_finance_concurrence", returned)
        await _wait_phase(env, handle, "PROPOSAL")
        resubmit = m.Conclusion(_actor("province_industry"), "已核实")
        await handle.execute_update("resubmit_proposal", resubmit)
        await _wait_phase(env, handle, "FINANCE_CONCURRENCE")
        cause = await _refused(handle, "decide_finance_concurrence", returned, "ALREADY_EXISTS")
        assert "already received" in cause.message
        assert (await _status(handle)).phase == "FINANCE_CONCURRENCE"


async def test_a_deadline_of_the_current_phase_is_extended_with_a_reason(env):
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        handle = await _start(env, stand, "extended")
        st = await _wait_phase(env, handle, "APPLYING")
        old = datetime.fromisoformat(st.deadline)
        new = old + timedelta(days=3)
        ext = m.DeadlineExtension(_actor("province_industry"), m.Phase.APPLYING, new.isoformat(), "")
        await _refused(handle, "extend_deadline", ext, "INVALID_ARGUMENT")  # no reason
        early = m.DeadlineExtension(
            _actor("province_industry"), m.Phase.APPLYING, (old - timedelta(days=1)).isoformat(), "系统故障"
        )
        await _refused(handle, "extend_deadline", early, "INVALID_ARGUMENT")  # not later
        other = m.DeadlineExtension(
            _actor("province_industry"), m.Phase.CITY_REVIEW, new.isoformat(), "系统故障"
        )
        await _refused(handle, "extend_deadline", other, "FAILED_PRECONDITION")  # not the current phase
        ext.reason = "申报截止日系统故障停机4小时"
        assert await handle.execute_update(CycleWorkflow.extend_deadline, ext) == new.isoformat()
        # The old deadline passes: still applying; the new one closes the window.
        await env.sleep(old - await env.get_current_time() + timedelta(hours=1))
        st = await _status(handle)
        assert st.phase == "APPLYING"
        assert st.deadline == new.isoformat()
        await _wait_phase(env, handle, "CITY_REVIEW")
        assert await env.get_current_time() >= new
        extended = [d for d in stand.decisions if d.kind == "DEADLINE_EXTENDED"]
        assert len(extended) == 1
        assert extended[0].opinion == "申报截止日系统故障停机4小时"
        assert extended[0].details == {
            "phase": "APPLYING",
            "from": old.isoformat(),
            "to": new.isoformat(),
            "new_deadline": new.isoformat(),
        }


async def test_a_refused_step_needs_attention_until_resumed_then_the_year_closes(env):
    stand = StandIns(TWO_CITIES)
    stand.refuse["open_budget"] = refusal(
        "FAILED_PRECONDITION", "no appropriation is open for fiscal year 2026", "NO_APPROPRIATION"
    )
    async with _worker(env, stand):
        handle = await _start(env, stand, "attention")
        st = await _wait_attention(env, handle)
        assert st.phase == "PUBLISHED"  # the phase is kept
        assert st.attention.step == "open_budget"
        assert "no appropriation" in st.attention.reason
        assert [d.kind for d in stand.decisions] == ["NEEDS_ATTENTION"]
        # Resuming without saying what was fixed is refused; resuming before the fix re-enters attention.
        await _refused(handle, "resume", m.Resumption(_actor("province_industry"), " "), "INVALID_ARGUMENT")
        await handle.execute_update(CycleWorkflow.resume, m.Resumption(_actor("province_industry"), "重试"))
        st = await _wait_attention(env, handle)
        assert st.attention.step == "open_budget"
        # Province finance opens the appropriation; the year resumes and runs to its end.
        del stand.refuse["open_budget"]
        assert (
            await handle.execute_update(
                CycleWorkflow.resume,
                m.Resumption(_actor("province_industry"), "省财政厅已下达2026年预算指标"),
            )
            == "open_budget"
        )
        await _wait_phase(env, handle, "APPLYING")
        assert (await _status(handle)).attention is None
        await _to_finance(env, handle)
        await _approve(env, handle, 1)
        result = await _announce_and_close(env, handle)
        assert result.phase == "CLOSED"
        kinds = [d.kind for d in stand.decisions]
        assert kinds[:4] == ["NEEDS_ATTENTION", "RESUMED", "NEEDS_ATTENTION", "RESUMED"]


async def test_a_missing_working_day_calendar_needs_attention_naming_the_file(env):
    stand = StandIns(TWO_CITIES)
    async with _worker(env, stand):
        handle = await _start(env, stand, "calendar")
        await _wait_phase(env, handle, "APPLYING")
        # Nothing to resume while nothing needs attention.
        await _refused(
            handle, "resume", m.Resumption(_actor("province_industry"), "x"), "FAILED_PRECONDITION"
        )
        await _to_finance(env, handle)
        stand.refuse["deadline_after"] = refusal(
            "FAILED_PRECONDITION",
            "The official holiday calendar for 2027 is not known; add policies/calendars/2027.yaml",
            "NO_WORKDAY_CALENDAR",
        )
        await handle.execute_update(
            "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), 1, True, "同意")
        )
        await _wait_phase(env, handle, "PARTY_GROUP_APPROVAL")
        await handle.execute_update(
            "decide_party_group_approval",
            m.ProposalDecision(_actor("party_group"), 1, True, "同意", "厅党组会〔2026〕1次"),
        )
        st = await _wait_attention(env, handle)
        assert st.phase == "PARTY_GROUP_APPROVAL"
        assert "policies/calendars/2027.yaml" in st.attention.reason
        del stand.refuse["deadline_after"]
        await handle.execute_update(
            CycleWorkflow.resume, m.Resumption(_actor("province_industry"), "已添加2027年日历")
        )
        await _wait_phase(env, handle, "PUBLICITY", step=timedelta(minutes=1))


async def test_a_2027_calendar_added_while_the_cycle_waits_lets_it_resume(env, tmp_path, monkeypatch):
    """The real deadline activity reads AICC_CALENDAR_DIR when it runs: without a 2027 calendar the
    publicity period cannot be counted and the cycle needs attention naming the file to add; once
    the file is there, a resume counts it — 5 working days from Tue 2027-09-28 09:00 across the
    (test fixture's) National Day holiday and adjusted Saturday end Mon 2027-10-11 09:00 Beijing."""
    monkeypatch.setenv("AICC_CALENDAR_DIR", str(tmp_path))
    real = CycleActivities(clients=None)  # deadline_after calls no service

    @activity.defn(name="deadline_after")
    async def deadline_after(x: m.DeadlineRequest) -> str:
        # The test server's clock is today's; the period is counted from a fixed instant in 2027.
        return await real.deadline_after(m.DeadlineRequest("2027-09-28T01:00:00+00:00", x.span))

    stand = StandIns(TWO_CITIES)
    stand.queue = f"q-{uuid.uuid4()}"
    activities = [a for a in stand.all() if a.__name__ != "deadline_after"] + [deadline_after]
    now = (await env.get_current_time()).astimezone(UTC)
    inp = dataclasses.replace(_input("calendar-2027", now), publicity=m.Span(working_days=5))
    async with Worker(env.client, task_queue=stand.queue, workflows=[CycleWorkflow], activities=activities):
        handle = await env.client.start_workflow(
            CycleWorkflow.run, inp, id=m.workflow_id("calendar-2027"), task_queue=stand.queue
        )
        await _to_finance(env, handle)
        await handle.execute_update(
            "decide_finance_concurrence", m.ProposalDecision(_actor("province_finance"), 1, True, "同意")
        )
        await _wait_phase(env, handle, "PARTY_GROUP_APPROVAL")
        await handle.execute_update(
            "decide_party_group_approval",
            m.ProposalDecision(_actor("party_group"), 1, True, "同意", "厅党组会〔2026〕1次"),
        )
        st = await _wait_attention(env, handle)
        assert st.phase == "PARTY_GROUP_APPROVAL"
        assert st.attention.step == "deadline"
        assert f"Add {tmp_path / '2027.yaml'}" in st.attention.reason
        assert "2027年法定节假日安排未知" in st.attention.reason_zh
        shutil.copy(
            Path(__file__).parents[1] / "fixtures" / "calendars" / "2027.yaml", tmp_path / "2027.yaml"
        )
        await handle.execute_update(
            CycleWorkflow.resume, m.Resumption(_actor("province_industry"), "已添加2027年工作日历")
        )
        st = await _wait_phase(env, handle, "PUBLICITY", step=timedelta(minutes=1))
        assert st.attention is None
        assert datetime.fromisoformat(st.publicity_ends_at) == datetime(2027, 10, 11, 1, 0, tzinfo=UTC)


async def test_an_outage_longer_than_the_old_retry_budget_is_survived(env):
    """Identity (every activity logs in through it) unreachable for 7 minutes — longer than the
    six-minute retry budget that used to fail the year — and the year goes on when it returns."""
    stand = StandIns(TWO_CITIES)
    stand.outage_until["close_application_window"] = timedelta(minutes=7)
    async with _worker(env, stand):
        handle = await _start(env, stand, "outage")
        st = await _wait_phase(env, handle, "CITY_REVIEW", step=timedelta(hours=12))
        assert st.attention is None
        assert st.counts.submitted == 2
        await _to_finance(env, handle)
        await _approve(env, handle, 1)
        result = await _announce_and_close(env, handle)
        assert result.phase == "CLOSED"
        assert result.counts.disbursed == 2


async def test_no_payload_grows_with_the_year(env):
    """5,000 applications in 16 cities: no payload of the workflow's history exceeds 128 KB, and the
    sign-offs of all cities arriving together are all accepted."""
    by_city = {f"37{k + 1:02d}00": (5000 // 16) + (1 if k < 5000 % 16 else 0) for k in range(16)}
    assert sum(by_city.values()) == 5000
    stand = StandIns(by_city)
    async with _worker(env, stand):
        handle = await _start(env, stand, "province-scale")
        await _to_finance(env, handle, by_city)
        await _approve(env, handle, 1)
        result = await _announce_and_close(env, handle)
        assert result.phase == "CLOSED"
        assert result.counts.submitted == 5000
        assert result.counts.recommended == 5000
        assert result.counts.compliant == 5000
        history = await handle.fetch_history()
        sizes = [
            (len(p.data), event.event_type)
            for event in history.events
            for payloads in _payload_lists(event)
            for p in payloads
        ]
        largest = max(sizes)
        assert 0 < largest[0] <= 128 * 1024, largest


def _payload_lists(event):
    """Every payload list of a history event (inputs, results, update arguments and outcomes)."""
    attrs = [
        ("workflow_execution_started_event_attributes", "input"),
        ("activity_task_scheduled_event_attributes", "input"),
        ("activity_task_completed_event_attributes", "result"),
        ("workflow_execution_completed_event_attributes", "result"),
        ("workflow_execution_update_accepted_event_attributes", "accepted_request"),
        ("workflow_execution_update_completed_event_attributes", "outcome"),
    ]
    for attr, field in attrs:
        if event.HasField(attr):
            node = getattr(getattr(event, attr), field)
            if field == "accepted_request":
                yield node.input.args.payloads
            elif field == "outcome":
                yield node.success.payloads
            else:
                yield node.payloads
