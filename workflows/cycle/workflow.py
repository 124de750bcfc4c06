"""The annual cycle as one durable workflow (DESIGN.md phases, Art. 7–15).

Deadlines are durable timers. Human decisions arrive as updates whose validators refuse an illegal
decision (wrong phase, wrong proposal version, incomplete content) without touching state; each
accepted decision's effects happen in activities, each one idempotent gRPC call to the service that
owns the record. The state is queryable (``status``). Refusals travel as ``ApplicationError``
encoded by ``workflows/cycle/refusals.py``.

The contract is typed: phases are :class:`Phase`, activities are called by reference
(``execute_activity_method``) and updates by reference from intake's gateway. ``run`` is one method
per phase. Changing what the workflow does keeps recorded years replayable: guard the change with
``workflow.patched`` (ARCHITECTURE.md, "Changing the workflow"; ``tests/workflow/test_replay.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from aicc.platform.errors import FieldViolation, error_for, present, wrong_phase
    from workflows.cycle.activities import CycleActivities
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
        DisbursementResult,
        PanelDraw,
        Phase,
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
        Span,
        SupervisionStatus,
        TargetsRequest,
    )
    from workflows.cycle.refusals import to_application_error

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=20), maximum_attempts=20
)

# Patch ids (workflow.patched): each names a change that histories recorded before it must not see.
TYPED_DISBURSEMENT_RESULT = "typed-disbursement-result"
LINES_CARRY_ORGANIZATION = "proposal-lines-carry-organization"

A = TypeVar("A")
R = TypeVar("R")


def _refuse(code: str, message: str, zh: str, *, field: str = "", **extra: str) -> ApplicationError:
    violations = [FieldViolation(field, message, zh)] if field else []
    meta = {**extra, **({"field": field} if field else {})}
    return to_application_error(error_for(code, message, zh, metadata=meta, violations=violations))


def _wrong_phase(action: str, action_zh: str, phase: Phase, allowed: str) -> ApplicationError:
    return to_application_error(wrong_phase(action, phase, allowed, action_zh))


@workflow.defn(name=WORKFLOW_NAME)
class CycleWorkflow:
    @workflow.init
    def __init__(self, inp: CycleInput) -> None:
        self.inp = inp
        self.phase = Phase.PUBLISHED
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

    async def _act(self, activity: Callable[[CycleActivities, A], Awaitable[R]], arg: A) -> R:
        """Runs one activity; a refusal by the service surfaces as the same refusal here."""
        try:
            result: R = await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
            )
            return result
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from None
            raise

    async def _enter(self, phase: Phase, note: str = "") -> None:
        self.phase = phase
        self.note = note
        self.history.append(PhaseEntry(phase, workflow.now().isoformat(), note))
        version = self.proposal.version if self.proposal else 0
        await self._act(CycleActivities.record_phase, PhaseChange(self.inp.cycle_id, phase, note, version))

    async def _sleep_until(self, iso: str) -> None:
        delay = datetime.fromisoformat(iso) - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)

    async def _wait(self, condition: Callable[[], bool], span_seconds: float | None = None) -> bool:
        """Waits for a condition, at most span_seconds when given; True if it became true."""
        try:
            timeout = timedelta(seconds=span_seconds) if span_seconds else None
            await workflow.wait_condition(condition, timeout=timeout)
            return True
        except TimeoutError:
            return condition()

    async def _timeout(self, span: Span) -> float | None:
        if span.working_days:
            return max((await self._deadline(span) - workflow.now()).total_seconds(), 0.001)
        return span.seconds or None

    async def _deadline(self, span: Span) -> datetime:
        iso = await self._act(
            CycleActivities.deadline_after, DeadlineRequest(workflow.now().isoformat(), span)
        )
        return datetime.fromisoformat(iso)

    @property
    def _proposal(self) -> ProposalSummary:
        if self.proposal is None:  # pragma: no cover - every caller runs after the proposal exists
            raise ApplicationError("no proposal yet", type="FAILED_PRECONDITION", non_retryable=True)
        return self.proposal

    # ------------------------------------------------------------------ the year, phase by phase

    @workflow.run
    async def run(self, inp: CycleInput) -> CycleStatus:
        await self._publish()
        if not await self._collect_applications():
            return await self._close("no eligible application was submitted / 无合格申报")
        if not await self._city_review():
            return await self._close("no city recommended an application / 无城市推荐项目")
        if not await self._compliance_review():
            return await self._close("no application passed compliance review / 无项目通过合规性审核")
        await self._expert_review()
        await self._approval()
        await self._publicity()
        await self._disburse()
        await self._supervise()
        return await self._close("")

    async def _publish(self) -> None:
        await self._enter(Phase.PUBLISHED)
        await self._act(CycleActivities.open_budget, BudgetOpening(self.inp.cycle_id, self.inp.budget_fen))
        await self._sleep_until(self.inp.applications_open_at)
        await self._enter(Phase.APPLYING)

    async def _collect_applications(self) -> bool:
        await self._sleep_until(self.inp.applications_close_at)
        apps = await self._act(CycleActivities.close_application_window, self.inp.cycle_id)
        for a in apps:
            self.submitted.setdefault(a.city_code, []).append(a)
        self.counts.submitted = len(apps)
        self.counts.cities_expected = len(self.submitted)
        return bool(apps)

    async def _city_review(self) -> bool:
        await self._enter(Phase.CITY_REVIEW)
        due = datetime.fromisoformat(self.inp.city_review_due_at) - workflow.now()
        await self._wait(
            lambda: len(self.cities_done) == len(self.submitted), max(due.total_seconds(), 0.001)
        )
        async with self.lock:  # no sign-off lands after the deadline has been applied
            self.city_review_closed = True
        return bool(self.recommended)

    async def _compliance_review(self) -> bool:
        await self._act(
            CycleActivities.open_review,
            ReviewOpening(self.inp.cycle_id, self.inp.policy_json, self.recommended),
        )
        await self._enter(Phase.COMPLIANCE_REVIEW)
        await self._wait(lambda: len(self.compliance) == len(self.recommended))
        self.counts.compliant = sum(self.compliance.values())
        return bool(self.counts.compliant)

    async def _expert_review(self) -> None:
        await self._act(
            CycleActivities.draw_panels, PanelDraw(self.inp.cycle_id, workflow.random().randint(1, 2**31 - 1))
        )
        await self._enter(Phase.EXPERT_REVIEW)
        if await self._wait(lambda: self.expert_review_done, await self._timeout(self.inp.expert_review)):
            return
        # Deadline passed: conclude automatically if every sheet is in, else wait for the province.
        try:
            async with self.lock:
                if not self.expert_review_done:
                    await self._compute_proposal()
        except ApplicationError as e:
            self.note = f"expert review deadline passed: {e.message}"
        await self._wait(lambda: self.expert_review_done)

    async def _approval(self) -> None:
        """Finance concurrence, then the party-group decision; either may send the proposal back."""
        await self._enter(Phase.PROPOSAL)
        while True:
            # Reset before entering: once the phase shows, a decision may arrive (while the phase
            # is still being recorded) and must not be refused as already taken.
            self.decision = None
            await self._enter(Phase.FINANCE_CONCURRENCE)
            finance = await self._decision()
            if not finance.approve:
                await self._return_to_proposal("province finance did not concur", finance)
                continue
            self.decision = None
            await self._enter(Phase.PARTY_GROUP_APPROVAL)
            party = await self._decision()
            if not party.approve:
                await self._return_to_proposal("the party-group meeting did not approve", party)
                continue
            return

    async def _decision(self) -> ProposalDecision:
        await self._wait(lambda: self.decision is not None)
        return present(self.decision, "decision")

    async def _publicity(self) -> None:
        self.publicity_ends_at = await self._deadline(self.inp.publicity)
        opening = PublicityOpening(
            self.inp.cycle_id, self._proposal.version, self.publicity_ends_at.isoformat()
        )
        await self._act(CycleActivities.open_publicity, opening)
        await self._enter(Phase.PUBLICITY)
        await self._wait(lambda: self.outcome is not None)
        await self._enter(
            Phase.ANNOUNCED, present(self.outcome, "publicity outcome").announcement_document_no
        )

    async def _disburse(self) -> None:
        awards = self._awards()
        await self._enter(Phase.DISBURSING)
        refused: list[str] = []
        for award in awards:
            key = f"{self.inp.cycle_id}:{award.application_id}:v{self._proposal.version}"
            if await self._pay(DisbursementRequest(self.inp.cycle_id, award, key)):
                self.counts.disbursed += 1
            else:  # the treasury refused: recorded in funding, shown here
                refused.append(award.application_id)
        if refused:
            self.note = f"treasury refused payment for {', '.join(refused)} / 国库拒绝支付"
        targets = TargetsRequest(self.inp.cycle_id, awards, self.inp.performance_targets)
        await self._act(CycleActivities.create_performance_targets, targets)

    async def _pay(self, request: DisbursementRequest) -> bool:
        """True when the award was paid, False when the treasury refused it."""
        if workflow.patched(TYPED_DISBURSEMENT_RESULT):
            result: DisbursementResult = await self._act(CycleActivities.disburse_award, request)
            return result.paid
        # Histories recorded before the typed result: the activity answered a reference string.
        ref: str = await workflow.execute_activity(
            "disburse_award",
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            result_type=str,
        )
        return not ref.startswith("FAILED:")

    async def _supervise(self) -> None:
        await self._enter(Phase.SUPERVISING)
        if await self._wait(lambda: self.supervision_done, await self._timeout(self.inp.supervision)):
            return
        status = await self._act(CycleActivities.supervision_status, self.inp.cycle_id)
        self.counts.evaluated = status.evaluated
        if not (status.awards and status.evaluated == status.awards):
            await self._wait(lambda: self.supervision_done)

    async def _close(self, note: str) -> CycleStatus:
        await self._enter(Phase.CLOSED, note)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _return_to_proposal(self, why: str, d: ProposalDecision) -> None:
        self.resubmitted = False
        await self._enter(Phase.PROPOSAL, f"{why}: {d.opinion}")
        await self._wait(lambda: self.resubmitted)

    async def _compute_proposal(self) -> None:
        request = ProposalRequest(self.inp.cycle_id, self.inp.budget_fen)
        self._set_proposal(await self._act(CycleActivities.compute_proposal, request))
        self.expert_review_done = True

    def _set_proposal(self, summary: ProposalSummary) -> None:
        if not workflow.patched(LINES_CARRY_ORGANIZATION):
            # Histories recorded before review's lines carried the organisation: attach it here.
            orgs = {a.application_id: a.organization_id for a in self.recommended}
            for line in summary.lines:
                line.organization_id = line.organization_id or orgs.get(line.application_id, "")
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
                record = RecommendationRecord(
                    self.inp.cycle_id,
                    s.city_code,
                    s.document_no,
                    s.items,
                    [signed[r].actor for r in CITY_ROLES],
                    self.signed_at[s.city_code],
                )
                await self._act(CycleActivities.record_recommendation, record)
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
        if self.phase != Phase.CITY_REVIEW or self.city_review_closed:
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
                f"items must list each of the city's {len(expected)} submitted applications exactly once: "
                f"{', '.join(expected)}",
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
                    "a joint recommendation needs the same document number and decisions as the "
                    f"{other.actor.role} sign-off",
                    "联合行文须与另一部门签署的文号和推荐结论一致",
                )

    @workflow.update
    async def decide_compliance(self, d: ComplianceDecisions) -> ComplianceResult:
        async with self.lock:
            self.validate_decide_compliance(d)
            record = ComplianceRecord(
                self.inp.cycle_id, d.actor.user_id, workflow.now().isoformat(), d.decisions
            )
            await self._act(CycleActivities.record_compliance, record)
            for item in d.decisions:
                self.compliance[item.application_id] = item.compliant
            self.counts.compliant = sum(self.compliance.values())
            return ComplianceResult(len(self.compliance), len(self.recommended) - len(self.compliance))

    @decide_compliance.validator
    def validate_decide_compliance(self, d: ComplianceDecisions) -> None:
        if self.phase != Phase.COMPLIANCE_REVIEW:
            raise _wrong_phase("DecideCompliance", "合规性审核", self.phase, "COMPLIANCE_REVIEW")
        known = {a.application_id for a in self.recommended}
        for i, item in enumerate(d.decisions):
            field = f"decisions[{i}].application_id"
            if item.application_id not in known:
                raise _refuse(
                    "NOT_FOUND",
                    f"decisions[{i}]: application {item.application_id} was not recommended to the province",
                    "该项目未被推荐至省级",
                    field=field,
                )
            if item.application_id in self.compliance:
                raise _refuse(
                    "FAILED_PRECONDITION",
                    f"decisions[{i}]: application {item.application_id} is already decided",
                    "该项目已作出合规性审核结论",
                    field=field,
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
            return self._proposal.version

    @conclude_expert_review.validator
    def validate_conclude_expert_review(self, c: Conclusion) -> None:
        if self.phase != Phase.EXPERT_REVIEW:
            raise _wrong_phase("ConcludeExpertReview", "结束专家评审", self.phase, "EXPERT_REVIEW")

    @workflow.update
    async def decide_finance_concurrence(self, d: ProposalDecision) -> str:
        async with self.lock:
            self.validate_decide_finance_concurrence(d)
            if d.approve:  # the money is set aside only once finance agrees (Art. 3 total-amount control)
                reservation = Reservation(self.inp.cycle_id, self._proposal.version, self._awards())
                await self._act(CycleActivities.reserve_funds, reservation)
            self.decision = d
            return "concurred" if d.approve else "returned"

    @decide_finance_concurrence.validator
    def validate_decide_finance_concurrence(self, d: ProposalDecision) -> None:
        if self.phase != Phase.FINANCE_CONCURRENCE or self.decision is not None:
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
        if self.phase != Phase.PARTY_GROUP_APPROVAL or self.decision is not None:
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
            return self._proposal.version

    @resubmit_proposal.validator
    def validate_resubmit_proposal(self, c: Conclusion) -> None:
        if self.phase != Phase.PROPOSAL or self.resubmitted or not self.history or not self.note:
            raise _wrong_phase(
                "ResubmitProposal", "重新报送资金分配建议", self.phase, "PROPOSAL (after a return)"
            )

    @workflow.update
    async def decide_publicity_outcome(self, o: PublicityOutcome) -> int:
        async with self.lock:
            self.validate_decide_publicity_outcome(o)
            final = await self._act(CycleActivities.close_publicity, self.inp.cycle_id)
            if final.version != self._proposal.version:
                # Upheld objections changed the list: the reservation follows the final version.
                self._set_proposal(final)
                reservation = Reservation(self.inp.cycle_id, final.version, self._awards())
                await self._act(CycleActivities.reserve_funds, reservation)
            self.outcome = o
            return self._proposal.version

    @decide_publicity_outcome.validator
    def validate_decide_publicity_outcome(self, o: PublicityOutcome) -> None:
        if self.phase != Phase.PUBLICITY or self.outcome is not None:
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
            status: SupervisionStatus = await self._act(CycleActivities.supervision_status, self.inp.cycle_id)
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
        if self.phase != Phase.SUPERVISING:
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
        return [line for line in self._proposal.lines if line.amount_fen > 0]
