"""The annual cycle as one durable workflow (DESIGN.md phases, Art. 7–15).

Deadlines are durable timers. Human decisions arrive as updates whose validators refuse an illegal
decision (wrong phase, wrong proposal version, incomplete content) without touching state; each
accepted decision's effects happen in activities, each one idempotent gRPC call to the service that
owns the record. The state is queryable (``status``). Errors returned to callers are
``ApplicationError`` with ``type`` = the canonical gRPC code name and details ``{"zh": ...}``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from aicc.platform.errors import FieldViolation, error_for, wrong_phase
    from workflows.cycle.models import (
        CITY_ROLES,
        WORKFLOW_NAME,
        AppRef,
        AwardLine,
        BudgetOpening,
        CitySignoff,
        ComplianceDecisions,
        ComplianceRecord,
        ComplianceResult,
        Conclusion,
        Counts,
        CycleInput,
        CycleStatus,
        DeadlineRequest,
        DisbursementRequest,
        PanelDraw,
        PhaseChange,
        PhaseEntry,
        ProposalDecision,
        ProposalRequest,
        ProposalSummary,
        PublicityOpening,
        PublicityOutcome,
        RecommendationRecord,
        Reservation,
        ReviewOpening,
        SignoffResult,
        SupervisionStatus,
        TargetsRequest,
    )
    from workflows.cycle.refusals import to_application_error

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=20), maximum_attempts=20
)


def _refuse(code: str, message: str, zh: str, *, field: str = "", **extra: str) -> ApplicationError:
    violations = [FieldViolation(field, message, zh)] if field else []
    meta = {**extra, **({"field": field} if field else {})}
    return to_application_error(error_for(code, message, zh, metadata=meta, violations=violations))


def _wrong_phase(action: str, action_zh: str, phase: str, allowed: str) -> ApplicationError:
    return to_application_error(wrong_phase(action, phase, allowed, action_zh))


@workflow.defn(name=WORKFLOW_NAME)
class CycleWorkflow:
    @workflow.init
    def __init__(self, inp: CycleInput) -> None:
        self.inp = inp
        self.phase = "PUBLISHED"
        self.history: list[PhaseEntry] = []
        self.note = ""
        self.counts = Counts()
        self.submitted: dict[str, list[AppRef]] = {}
        self.signoffs: dict[str, dict[str, CitySignoff]] = {}
        self.signed_at: dict[str, dict[str, str]] = {}
        self.cities_done: set[str] = set()
        self.city_review_closed = False
        self.recommended: list[AppRef] = []
        self.compliance: dict[str, bool] = {}
        self.expert_review_done = False
        self.proposal: ProposalSummary | None = None
        self.decision: ProposalDecision | None = None
        self.resubmitted = False
        self.publicity_ends_at: datetime | None = None
        self.outcome: PublicityOutcome | None = None
        self.supervision_done = False
        self.lock = asyncio.Lock()

    # ------------------------------------------------------------------ plumbing

    async def _act(self, name: str, arg, result_type=None):
        """Runs one activity; a refusal by the service surfaces as the same ApplicationError type."""
        try:
            return await workflow.execute_activity(
                name,
                arg,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                result_type=result_type,
            )
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from None
            raise

    async def _enter(self, phase: str, note: str = "") -> None:
        self.phase = phase
        self.note = note
        self.history.append(PhaseEntry(phase, workflow.now().isoformat(), note))
        await self._act(
            "record_phase",
            PhaseChange(self.inp.cycle_id, phase, note, self.proposal.version if self.proposal else 0),
        )

    async def _sleep_until(self, iso: str) -> None:
        delay = datetime.fromisoformat(iso) - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)

    async def _wait(self, condition, span_seconds: float | None = None) -> bool:
        """Waits for a condition, at most span_seconds when given; True if it became true."""
        try:
            await workflow.wait_condition(
                condition, timeout=timedelta(seconds=span_seconds) if span_seconds else None
            )
            return True
        except TimeoutError:
            return condition()

    async def _timeout(self, span) -> float | None:
        if span.working_days:
            return max((await self._deadline(span) - workflow.now()).total_seconds(), 0.001)
        return span.seconds or None

    async def _deadline(self, span) -> datetime:
        iso = await self._act("deadline_after", DeadlineRequest(workflow.now().isoformat(), span), str)
        return datetime.fromisoformat(iso)

    # ------------------------------------------------------------------ the year

    @workflow.run
    async def run(self, inp: CycleInput) -> CycleStatus:
        await self._enter("PUBLISHED")
        await self._act("open_budget", BudgetOpening(inp.cycle_id, inp.budget_fen))
        await self._sleep_until(inp.applications_open_at)
        await self._enter("APPLYING")
        await self._sleep_until(inp.applications_close_at)

        apps: list[AppRef] = await self._act("close_application_window", inp.cycle_id, list[AppRef])
        for a in apps:
            self.submitted.setdefault(a.city_code, []).append(a)
        self.counts.submitted = len(apps)
        self.counts.cities_expected = len(self.submitted)
        if not apps:
            return await self._close("no eligible application was submitted / 无合格申报")

        await self._enter("CITY_REVIEW")
        due = datetime.fromisoformat(inp.city_review_due_at) - workflow.now()
        await self._wait(
            lambda: len(self.cities_done) == len(self.submitted), max(due.total_seconds(), 0.001)
        )
        async with self.lock:  # no sign-off lands after the deadline has been applied
            self.city_review_closed = True
        if not self.recommended:
            return await self._close("no city recommended an application / 无城市推荐项目")

        await self._act("open_review", ReviewOpening(inp.cycle_id, inp.policy_json, self.recommended))
        await self._enter("COMPLIANCE_REVIEW")
        await self._wait(lambda: len(self.compliance) == len(self.recommended))
        self.counts.compliant = sum(self.compliance.values())
        if not self.counts.compliant:
            return await self._close("no application passed compliance review / 无项目通过合规性审核")

        await self._act("draw_panels", PanelDraw(inp.cycle_id, workflow.random().randint(1, 2**31 - 1)))
        await self._enter("EXPERT_REVIEW")
        if not await self._wait(lambda: self.expert_review_done, await self._timeout(inp.expert_review)):
            # Deadline passed: conclude automatically if every sheet is in, else wait for the province.
            try:
                async with self.lock:
                    if not self.expert_review_done:
                        await self._compute_proposal()
            except ApplicationError as e:
                self.note = f"expert review deadline passed: {e.message}"
            await self._wait(lambda: self.expert_review_done)

        await self._enter("PROPOSAL")
        while True:
            # Reset before entering: once the phase shows, a decision may arrive (while the phase
            # is still being recorded) and must not be refused as already taken.
            self.decision = None
            await self._enter("FINANCE_CONCURRENCE")
            await self._wait(lambda: self.decision is not None)
            if not self.decision.approve:
                await self._return_to_proposal("province finance did not concur", self.decision)
                continue
            self.decision = None
            await self._enter("PARTY_GROUP_APPROVAL")
            await self._wait(lambda: self.decision is not None)
            if not self.decision.approve:
                await self._return_to_proposal("the party-group meeting did not approve", self.decision)
                continue
            break

        self.publicity_ends_at = await self._deadline(inp.publicity)
        await self._act(
            "open_publicity",
            PublicityOpening(inp.cycle_id, self.proposal.version, self.publicity_ends_at.isoformat()),
        )
        await self._enter("PUBLICITY")
        await self._wait(lambda: self.outcome is not None)
        await self._enter("ANNOUNCED", self.outcome.announcement_document_no)

        awards = [line for line in self.proposal.lines if line.amount_fen > 0]
        await self._enter("DISBURSING")
        refused: list[str] = []
        for award in awards:
            key = f"{inp.cycle_id}:{award.application_id}:v{self.proposal.version}"
            ref: str = await self._act("disburse_award", DisbursementRequest(inp.cycle_id, award, key), str)
            if ref.startswith("FAILED:"):  # the treasury refused: recorded in funding, shown here
                refused.append(award.application_id)
            else:
                self.counts.disbursed += 1
        if refused:
            self.note = f"treasury refused payment for {', '.join(refused)} / 国库拒绝支付"
        await self._act(
            "create_performance_targets", TargetsRequest(inp.cycle_id, awards, inp.performance_targets)
        )

        await self._enter("SUPERVISING")
        if not await self._wait(lambda: self.supervision_done, await self._timeout(inp.supervision)):
            status: SupervisionStatus = await self._act("supervision_status", inp.cycle_id, SupervisionStatus)
            self.counts.evaluated = status.evaluated
            if not (status.awards and status.evaluated == status.awards):
                await self._wait(lambda: self.supervision_done)
        return await self._close("")

    async def _close(self, note: str) -> CycleStatus:
        await self._enter("CLOSED", note)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _return_to_proposal(self, why: str, d: ProposalDecision) -> None:
        self.resubmitted = False
        await self._enter("PROPOSAL", f"{why}: {d.opinion}")
        await self._wait(lambda: self.resubmitted)

    async def _compute_proposal(self) -> None:
        summary: ProposalSummary = await self._act(
            "compute_proposal", ProposalRequest(self.inp.cycle_id, self.inp.budget_fen), ProposalSummary
        )
        self._set_proposal(summary)
        self.expert_review_done = True

    def _set_proposal(self, summary: ProposalSummary) -> None:
        orgs = {a.application_id: a for a in self.recommended}
        for line in summary.lines:
            ref = orgs.get(line.application_id)
            if ref:
                line.organization_id = ref.organization_id
        self.proposal = summary
        self.counts.awarded = sum(1 for line in summary.lines if line.amount_fen > 0)
        self.counts.reserve = len(summary.reserve)

    # ------------------------------------------------------------------ queries

    @workflow.query
    def status(self) -> CycleStatus:
        return CycleStatus(
            cycle_id=self.inp.cycle_id,
            phase=self.phase,
            counts=self.counts,
            history=self.history,
            proposal_version=self.proposal.version if self.proposal else 0,
            note=self.note,
            publicity_ends_at=self.publicity_ends_at.isoformat() if self.publicity_ends_at else "",
        )

    # ------------------------------------------------------------------ decisions (updates)

    @workflow.update
    async def sign_city_recommendation(self, s: CitySignoff) -> SignoffResult:
        async with self.lock:
            self.validate_sign_city_recommendation(s)  # state may have moved while waiting for the lock
            self.signoffs.setdefault(s.city_code, {})[s.actor.role] = s
            self.signed_at.setdefault(s.city_code, {})[s.actor.role] = workflow.now().isoformat()
            signed = self.signoffs[s.city_code]
            complete = all(r in signed for r in CITY_ROLES)
            if complete:
                await self._act(
                    "record_recommendation",
                    RecommendationRecord(
                        self.inp.cycle_id,
                        s.city_code,
                        s.document_no,
                        s.items,
                        [signed[r].actor for r in CITY_ROLES],
                        self.signed_at[s.city_code],
                    ),
                )
                self.cities_done.add(s.city_code)
                chosen = {i.application_id for i in s.items if i.recommended}
                self.recommended.extend(a for a in self.submitted[s.city_code] if a.application_id in chosen)
                self.counts.recommended = len(self.recommended)
                self.counts.cities_recommended = len(self.cities_done)
            return SignoffResult(
                s.city_code, s.document_no, sorted(signed), complete, dict(self.signed_at[s.city_code])
            )

    @sign_city_recommendation.validator
    def validate_sign_city_recommendation(self, s: CitySignoff) -> None:
        if self.phase != "CITY_REVIEW" or self.city_review_closed:
            raise _wrong_phase(
                "SignCityRecommendation", "城市推荐签署", self.phase, "CITY_REVIEW (before its deadline)"
            )
        if s.actor.role not in CITY_ROLES:
            raise _refuse(
                "PERMISSION_DENIED",
                "only city industry or city finance may sign",
                "仅市工信局或市财政局可签署",
            )
        apps = self.submitted.get(s.city_code)
        if not apps:
            raise _refuse(
                "FAILED_PRECONDITION",
                f"city {s.city_code} has no submitted application in this cycle",
                f"城市 {s.city_code} 本年度无申报项目",
            )
        if s.city_code in self.cities_done:
            raise _refuse(
                "FAILED_PRECONDITION",
                f"city {s.city_code} has already recommended",
                f"城市 {s.city_code} 已完成推荐",
            )
        signed = self.signoffs.get(s.city_code, {})
        if s.actor.role in signed:
            raise _refuse(
                "ALREADY_EXISTS",
                f"{s.actor.role} has already signed for city {s.city_code}",
                f"{s.actor.role} 已签署",
            )
        expected = sorted(a.application_id for a in apps)
        given = sorted(i.application_id for i in s.items)
        if given != expected:
            raise _refuse(
                "INVALID_ARGUMENT",
                f"items must list each of the city's {len(expected)} submitted applications exactly once: {', '.join(expected)}",
                f"须逐一列明本市全部 {len(expected)} 个申报项目的推荐意见",
                field="items",
            )
        other = next((signed[r] for r in CITY_ROLES if r in signed), None)
        if other is not None:
            mine = {(i.application_id, i.recommended) for i in s.items}
            theirs = {(i.application_id, i.recommended) for i in other.items}
            if other.document_no != s.document_no or mine != theirs:
                raise _refuse(
                    "FAILED_PRECONDITION",
                    f"a joint recommendation needs the same document number and decisions as the {other.actor.role} sign-off",
                    "联合行文须与另一部门签署的文号和推荐结论一致",
                )

    @workflow.update
    async def decide_compliance(self, d: ComplianceDecisions) -> ComplianceResult:
        async with self.lock:
            self.validate_decide_compliance(d)
            await self._act(
                "record_compliance",
                ComplianceRecord(self.inp.cycle_id, d.actor.user_id, workflow.now().isoformat(), d.decisions),
            )
            for item in d.decisions:
                self.compliance[item.application_id] = item.compliant
            self.counts.compliant = sum(self.compliance.values())
            return ComplianceResult(len(self.compliance), len(self.recommended) - len(self.compliance))

    @decide_compliance.validator
    def validate_decide_compliance(self, d: ComplianceDecisions) -> None:
        if self.phase != "COMPLIANCE_REVIEW":
            raise _wrong_phase("DecideCompliance", "合规性审核", self.phase, "COMPLIANCE_REVIEW")
        known = {a.application_id for a in self.recommended}
        for i, item in enumerate(d.decisions):
            if item.application_id not in known:
                raise _refuse(
                    "NOT_FOUND",
                    f"decisions[{i}]: application {item.application_id} was not recommended to the province",
                    "该项目未被推荐至省级",
                    field=f"decisions[{i}].application_id",
                )
            if item.application_id in self.compliance:
                raise _refuse(
                    "FAILED_PRECONDITION",
                    f"decisions[{i}]: application {item.application_id} is already decided",
                    "该项目已作出合规性审核结论",
                    field=f"decisions[{i}].application_id",
                )
            if not item.compliant and not item.reasons:
                raise _refuse(
                    "INVALID_ARGUMENT",
                    f"decisions[{i}].reasons: a non-compliant decision needs its reasons",
                    "不合规结论须说明理由",
                    field=f"decisions[{i}].reasons",
                )

    @workflow.update
    async def conclude_expert_review(self, c: Conclusion) -> int:
        async with self.lock:
            self.validate_conclude_expert_review(c)
            if not self.expert_review_done:
                await self._compute_proposal()
            return self.proposal.version

    @conclude_expert_review.validator
    def validate_conclude_expert_review(self, c: Conclusion) -> None:
        if self.phase != "EXPERT_REVIEW":
            raise _wrong_phase("ConcludeExpertReview", "结束专家评审", self.phase, "EXPERT_REVIEW")

    @workflow.update
    async def decide_finance_concurrence(self, d: ProposalDecision) -> str:
        async with self.lock:
            self.validate_decide_finance_concurrence(d)
            if d.approve:  # the money is set aside only once finance agrees (Art. 3 total-amount control)
                await self._act(
                    "reserve_funds", Reservation(self.inp.cycle_id, self.proposal.version, self._awards())
                )
            self.decision = d
            return "concurred" if d.approve else "returned"

    @decide_finance_concurrence.validator
    def validate_decide_finance_concurrence(self, d: ProposalDecision) -> None:
        if self.phase != "FINANCE_CONCURRENCE" or self.decision is not None:
            raise _wrong_phase("DecideFinanceConcurrence", "财政厅会签", self.phase, "FINANCE_CONCURRENCE")
        self._check_version(d)

    @workflow.update
    async def decide_party_group_approval(self, d: ProposalDecision) -> str:
        async with self.lock:
            self.validate_decide_party_group_approval(d)
            self.decision = d
            return "approved" if d.approve else "rejected"

    @decide_party_group_approval.validator
    def validate_decide_party_group_approval(self, d: ProposalDecision) -> None:
        if self.phase != "PARTY_GROUP_APPROVAL" or self.decision is not None:
            raise _wrong_phase("DecidePartyGroupApproval", "党组会审议", self.phase, "PARTY_GROUP_APPROVAL")
        self._check_version(d)
        if d.approve and not d.reference:
            raise _refuse(
                "INVALID_ARGUMENT",
                "meeting_reference: the meeting's reference is required",
                "须填写党组会会议编号",
                field="meeting_reference",
            )

    @workflow.update
    async def resubmit_proposal(self, c: Conclusion) -> int:
        async with self.lock:
            self.validate_resubmit_proposal(c)
            self.resubmitted = True
            return self.proposal.version

    @resubmit_proposal.validator
    def validate_resubmit_proposal(self, c: Conclusion) -> None:
        if self.phase != "PROPOSAL" or self.resubmitted or not self.history or not self.note:
            raise _wrong_phase(
                "ResubmitProposal", "重新报送资金分配建议", self.phase, "PROPOSAL (after a return)"
            )

    @workflow.update
    async def decide_publicity_outcome(self, o: PublicityOutcome) -> int:
        async with self.lock:
            self.validate_decide_publicity_outcome(o)
            final: ProposalSummary = await self._act("close_publicity", self.inp.cycle_id, ProposalSummary)
            if final.version != self.proposal.version:
                # Upheld objections changed the list: the reservation follows the final version.
                self._set_proposal(final)
                await self._act(
                    "reserve_funds", Reservation(self.inp.cycle_id, final.version, self._awards())
                )
            self.outcome = o
            return self.proposal.version

    @decide_publicity_outcome.validator
    def validate_decide_publicity_outcome(self, o: PublicityOutcome) -> None:
        if self.phase != "PUBLICITY" or self.outcome is not None:
            raise _wrong_phase("DecidePublicityOutcome", "公示结果确认", self.phase, "PUBLICITY")
        if self.publicity_ends_at and workflow.now() < self.publicity_ends_at:
            raise _refuse(
                "FAILED_PRECONDITION",
                f"the publicity period runs until {self.publicity_ends_at.isoformat()}",
                f"公示期至 {self.publicity_ends_at.isoformat()} 结束，尚未期满",
                phase=self.phase,
            )
        if not o.announcement_document_no.strip():
            raise _refuse(
                "INVALID_ARGUMENT",
                "announcement_document_no is required",
                "须填写发文文号",
                field="announcement_document_no",
            )

    @workflow.update
    async def conclude_supervision(self, c: Conclusion) -> str:
        async with self.lock:
            self.validate_conclude_supervision(c)
            status: SupervisionStatus = await self._act(
                "supervision_status", self.inp.cycle_id, SupervisionStatus
            )
            self.counts.evaluated = status.evaluated
            if status.evaluated < status.awards:
                raise _refuse(
                    "FAILED_PRECONDITION",
                    f"{status.awards - status.evaluated} of {status.awards} awards are not yet evaluated",
                    f"尚有 {status.awards - status.evaluated} 个项目未完成绩效评价",
                )
            self.supervision_done = True
            return "closing"

    @conclude_supervision.validator
    def validate_conclude_supervision(self, c: Conclusion) -> None:
        if self.phase != "SUPERVISING":
            raise _wrong_phase("ConcludeSupervision", "结束绩效监管", self.phase, "SUPERVISING")

    # ------------------------------------------------------------------ helpers

    def _check_version(self, d: ProposalDecision) -> None:
        if self.proposal is None or d.proposal_version != self.proposal.version:
            current = self.proposal.version if self.proposal else 0
            raise _refuse(
                "FAILED_PRECONDITION",
                f"proposal_version {d.proposal_version} is not the current proposal (version {current})",
                f"拟支持名单版本 {d.proposal_version} 不是当前版本（{current}）",
                field="proposal_version",
            )

    def _awards(self) -> list[AwardLine]:
        return [line for line in self.proposal.lines if line.amount_fen > 0]
