"""The annual cycle as one durable workflow (DESIGN.md phases, Art. 7–15).

Deadlines are durable timers (a deadline of the current phase may be extended, with a recorded
reason). Human decisions arrive as updates whose validators refuse an illegal decision without
touching state; each accepted decision's effects happen in activities, each one idempotent gRPC call
to the service that owns the record, and each decision is recorded in intake's decision log. The
state is queryable (``status``).

**The year heals instead of failing.** Transient failures are retried without an attempt limit
(capped back-off). A step the services refuse, or cannot take (no appropriation open, no working-day
calendar for a year), puts the cycle into *needs attention*: the phase is kept, the reason is in the
status and in the decision log, and the step runs again when an official resumes the cycle.

**Approvals cannot be bypassed.** A list that changes after party-group approval (an upheld
objection, a promoted reserve) goes back through finance concurrence, party-group approval and its
own publicity before anything is announced or paid.

**Payloads do not grow with the year**: the services hold the lists; the workflow holds counts and
at most the funded lines.

The contract is typed (``Phase``, activities by reference). Changes keep recorded years replayable
with ``workflow.patched`` (ADR 0006): ``V3`` marks a year run by this version; years recorded by
earlier versions replay the branches kept for them.
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
        Actor,
        AnnouncementRecord,
        AppRef,
        Attention,
        AwardLine,
        BudgetOpening,
        CitySignoff,
        ComplianceDecisions,
        ComplianceOutcome,
        ComplianceRecord,
        ComplianceResult,
        Conclusion,
        ConclusionRecord,
        Counts,
        CycleInput,
        CycleStatus,
        DeadlineExtension,
        DeadlineRequest,
        DecisionRecord,
        DisbursementRequest,
        DisbursementResult,
        OutcomesRequest,
        PanelDraw,
        Phase,
        PhaseChange,
        PhaseEntry,
        ProposalDecision,
        ProposalRequest,
        ProposalRevision,
        ProposalSummary,
        PublicityOpening,
        PublicityOutcome,
        RecommendationOutcome,
        RecommendationRecord,
        Reservation,
        Resumption,
        ReviewOpening,
        RevisionRequest,
        SignoffResult,
        Span,
        Submissions,
        SupervisionStatus,
        TargetsRequest,
    )
    from workflows.cycle.refusals import to_application_error

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# The run of the year: retried until it succeeds (a refusal is not retried: it needs attention).
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=60)
)
# Inside a decision (an update): an official is waiting, so a dependency that stays down is
# answered as "unavailable, try again" within about a minute and the decision changes nothing.
DECISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=6
)
# Years recorded before V2 had no RETRY without limit; the retry policy is not part of the history.
V2_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=20), maximum_attempts=20
)

# Patch ids (workflow.patched): each names a change that histories recorded before it must not see.
TYPED_DISBURSEMENT_RESULT = "typed-disbursement-result"
LINES_CARRY_ORGANIZATION = "proposal-lines-carry-organization"
# The issue-9 year: records of every decision, counts instead of lists, approval loops, healing.
V3 = "v3-records-heal-approval-loops"

# Phases whose deadline an official may extend, and what the deadline is in each.
EXTENDABLE = (Phase.APPLYING, Phase.CITY_REVIEW, Phase.EXPERT_REVIEW, Phase.PUBLICITY, Phase.SUPERVISING)

A = TypeVar("A")
R = TypeVar("R")


def _refuse(code: str, message: str, zh: str, *, field: str = "", **extra: str) -> ApplicationError:
    violations = [FieldViolation(field, message, zh)] if field else []
    meta = {**extra, **({"field": field} if field else {})}
    return to_application_error(error_for(code, message, zh, metadata=meta, violations=violations))


def _wrong_phase(action: str, action_zh: str, phase: Phase, allowed: str) -> ApplicationError:
    return to_application_error(wrong_phase(action, phase, allowed, action_zh))


class _Refused(Exception):
    """A step of the year the services refused (the cause is the service's refusal)."""

    def __init__(self, step: str, cause: ApplicationError) -> None:
        super().__init__(cause.message)
        self.step = step
        self.cause = cause


@workflow.defn(name=WORKFLOW_NAME)
class CycleWorkflow:
    @workflow.init
    def __init__(self, inp: CycleInput) -> None:
        self.inp = inp
        self.v3 = False  # set in run(): this year is run by the issue-9 version
        self.phase = Phase.PUBLISHED
        self.history: list[PhaseEntry] = []
        self.note = ""
        self.counts = Counts()
        # v3: counts per city; v2 kept the submitted applications themselves.
        self.submitted_by_city: dict[str, int] = {}
        self.submitted: dict[str, list[AppRef]] = {}
        self.signoffs: dict[str, dict[str, CitySignoff]] = {}
        self.signed_at: dict[str, dict[str, str]] = {}
        self.cities_done: set[str] = set()
        self.city_review_closed = False
        self.recommended: list[AppRef] = []  # v2 only
        self.candidates = 0  # v3: applications opened for compliance review
        self.compliance: dict[str, bool] = {}
        self.expert_review_done = False
        self.proposal: ProposalSummary | None = None
        self.decision: ProposalDecision | None = None
        self.resubmitted = False
        self.publicity_ends_at: datetime | None = None
        self.outcome: PublicityOutcome | None = None
        self.supervision_done = False
        self.deadline: datetime | None = None
        self.extensions = 0
        self.attention: Attention | None = None
        self.resumptions = 0
        self.requests: set[str] = set()  # request ids of the decisions taken
        self.lock = asyncio.Lock()

    # ------------------------------------------------------------------ plumbing

    async def _act(
        self,
        activity: Callable[[CycleActivities, A], Awaitable[R]],
        arg: A,
        *,
        retry: RetryPolicy | None = None,
    ) -> R:
        """Runs one activity; a refusal by the service surfaces as the same refusal here."""
        policy = retry or (RETRY if self.v3 else V2_RETRY)
        try:
            result: R = await workflow.execute_activity_method(
                activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=policy
            )
            return result
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from None
            if self.v3 and policy is DECISION_RETRY:
                raise _refuse(
                    "UNAVAILABLE",
                    "a service this decision needs is unavailable; nothing was changed, try again shortly",
                    "本决定所需的服务暂不可用，未作任何变更，请稍后重试",
                ) from None
            raise

    async def _decide(self, activity: Callable[[CycleActivities, A], Awaitable[R]], arg: A) -> R:
        """An activity inside a decision (an update): bounded retries, then "try again"."""
        return await self._act(activity, arg, retry=DECISION_RETRY if self.v3 else None)

    async def _step(self, name: str, activity: Callable[[CycleActivities, A], Awaitable[R]], arg: A) -> R:
        """A step of the year's run: a refusal puts the cycle into *needs attention* until resumed,
        then the step runs again (transient failures are retried by the activity's policy)."""
        while True:
            try:
                return await self._act(activity, arg)
            except ApplicationError as e:
                if not self.v3:
                    raise
                await self._needs_attention(name, e)

    async def _needs_attention(self, step: str, e: ApplicationError) -> None:
        detail = e.details[0] if e.details and isinstance(e.details[0], dict) else {}
        zh = str(detail.get("zh", ""))
        self.attention = Attention(step, e.message, zh, workflow.now().isoformat())
        workflow.logger.warning("cycle %s needs attention at %s: %s", self.inp.cycle_id, step, e.message)
        marker = self.resumptions
        try:
            await self._record(
                "NEEDS_ATTENTION", f"attention-{marker}", opinion=e.message, details={"step": step, "zh": zh}
            )
        except ApplicationError as refused:  # the record is refused too: the status still shows it
            workflow.logger.error("cycle %s: attention not recorded: %s", self.inp.cycle_id, refused.message)
        await workflow.wait_condition(lambda: self.resumptions != marker)
        self.attention = None

    async def _record(
        self,
        kind: str,
        key: str,
        *,
        actor: Actor | None = None,
        approve: bool = False,
        opinion: str = "",
        reference: str = "",
        details: dict[str, str] | None = None,
    ) -> None:
        """One entry of intake's decision log (idempotent on the key)."""
        version = self.proposal.version if self.proposal else 0
        record = DecisionRecord(
            self.inp.cycle_id,
            kind,
            f"{self.inp.cycle_id}:{key}",
            actor,
            version,
            approve,
            opinion,
            reference,
            details or {},
        )
        await self._act(CycleActivities.record_decision, record)

    async def _outcomes(self, stage: str) -> None:
        version = self.proposal.version if self.proposal else 0
        await self._step(
            f"outcomes:{stage}",
            CycleActivities.record_outcomes,
            OutcomesRequest(self.inp.cycle_id, stage, version),
        )

    async def _enter(self, phase: Phase, note: str = "") -> None:
        self.phase = phase
        self.note = note
        self.deadline = None
        self.history.append(PhaseEntry(phase, workflow.now().isoformat(), note))
        version = self.proposal.version if self.proposal else 0
        await self._act(CycleActivities.record_phase, PhaseChange(self.inp.cycle_id, phase, note, version))

    async def _until(self, deadline: datetime, condition: Callable[[], bool] = lambda: False) -> bool:
        """Waits until ``condition`` holds or the phase's deadline passes (a deadline that is
        extended meanwhile is waited for anew); True if the condition holds."""
        self.deadline = deadline
        while True:
            if condition():
                return True
            remaining = (present(self.deadline, "deadline") - workflow.now()).total_seconds()
            if remaining <= 0:
                return condition()
            marker = self.extensions
            try:
                await workflow.wait_condition(
                    lambda marker=marker: condition() or self.extensions != marker,  # type: ignore[misc]
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                if self.extensions == marker:
                    return condition()

    async def _wait(self, condition: Callable[[], bool]) -> None:
        await workflow.wait_condition(condition)

    async def _deadline(self, span: Span) -> datetime:
        request = DeadlineRequest(workflow.now().isoformat(), span)
        iso = await self._step("deadline", CycleActivities.deadline_after, request)
        return datetime.fromisoformat(iso)

    async def _span_deadline(self, span: Span) -> datetime | None:
        if span.working_days:
            return await self._deadline(span)
        return workflow.now() + timedelta(seconds=span.seconds) if span.seconds else None

    @property
    def _proposal(self) -> ProposalSummary:
        return present(self.proposal, "proposal")

    # ------------------------------------------------------------------ the year, phase by phase

    @workflow.run
    async def run(self, inp: CycleInput) -> CycleStatus:
        self.v3 = workflow.patched(V3)
        await self._publish()
        if not await self._collect_applications():
            return await self._close("no eligible application was submitted / 无合格申报")
        if not await self._city_review():
            return await self._close("no city recommended an application / 无城市推荐项目")
        if not await self._compliance_review():
            return await self._close("no application passed compliance review / 无项目通过合规性审核")
        await self._expert_review()
        while True:
            await self._approval()
            if not await self._publicity():
                break
            # Upheld objections changed the list: the new version goes back through finance,
            # the party group and its own publicity before anything is announced or paid.
        await self._announce()
        await self._disburse()
        await self._supervise()
        return await self._close("")

    async def _publish(self) -> None:
        await self._enter(Phase.PUBLISHED)
        opening = BudgetOpening(
            self.inp.cycle_id, self.inp.budget_fen, self.inp.fiscal_year, self.inp.tier_caps
        )
        await self._step("open_budget", CycleActivities.open_budget, opening)
        await self._until(datetime.fromisoformat(self.inp.applications_open_at))
        await self._enter(Phase.APPLYING)

    async def _collect_applications(self) -> bool:
        await self._until(datetime.fromisoformat(self.inp.applications_close_at))
        if self.v3:
            subs: Submissions = await self._step(
                "close_application_window", CycleActivities.close_application_window, self.inp.cycle_id
            )
            self.submitted_by_city = dict(subs.by_city)
            total = subs.total
        else:  # years recorded before V3: the window answered the applications themselves
            apps: list[AppRef] = await workflow.execute_activity(
                "close_application_window",
                self.inp.cycle_id,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=V2_RETRY,
                result_type=list[AppRef],
            )
            for a in apps:
                self.submitted.setdefault(a.city_code, []).append(a)
            self.submitted_by_city = {c: len(v) for c, v in self.submitted.items()}
            total = len(apps)
        self.counts.submitted = total
        self.counts.cities_expected = len(self.submitted_by_city)
        return bool(total)

    async def _city_review(self) -> bool:
        await self._enter(Phase.CITY_REVIEW)
        expected = len(self.submitted_by_city)
        await self._until(
            datetime.fromisoformat(self.inp.city_review_due_at), lambda: len(self.cities_done) == expected
        )
        async with self.lock:  # no sign-off lands after the deadline has been applied
            self.city_review_closed = True
        return bool(self.counts.recommended)

    async def _compliance_review(self) -> bool:
        # v3: review reads the recommended applications from intake itself.
        opening = ReviewOpening(self.inp.cycle_id, self.inp.policy_json, [] if self.v3 else self.recommended)
        if self.v3:
            self.candidates = await self._step("open_review", CycleActivities.open_review, opening)
        else:  # years recorded before V3: the activity answered nothing
            await workflow.execute_activity(
                "open_review", opening, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=V2_RETRY
            )
            self.candidates = len(self.recommended)
        await self._enter(Phase.COMPLIANCE_REVIEW)
        await self._wait(lambda: len(self.compliance) >= self.candidates)
        self.counts.compliant = sum(self.compliance.values())
        if self.v3:
            await self._outcomes("COMPLIANCE")
        return bool(self.counts.compliant)

    async def _expert_review(self) -> None:
        draw = PanelDraw(self.inp.cycle_id, workflow.random().randint(1, 2**31 - 1))
        await self._step("draw_panels", CycleActivities.draw_panels, draw)
        await self._enter(Phase.EXPERT_REVIEW)
        deadline = await self._span_deadline(self.inp.expert_review)
        if deadline is None:
            await self._wait(lambda: self.expert_review_done)
            return
        if await self._until(deadline, lambda: self.expert_review_done):
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
        await self._enter(
            Phase.PROPOSAL, self.note if self.v3 and self.proposal and self.proposal.changed else ""
        )
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
            if self.v3:
                await self._outcomes("PROPOSAL")
            return

    async def _decision(self) -> ProposalDecision:
        await self._wait(lambda: self.decision is not None)
        return present(self.decision, "decision")

    async def _publicity(self) -> bool:
        """The approved version's public notice; True when upheld objections changed the list."""
        self.outcome = None
        self.publicity_ends_at = await self._deadline(self.inp.publicity)
        opening = PublicityOpening(
            self.inp.cycle_id,
            self._proposal.version,
            self.publicity_ends_at.isoformat(),
            self.inp.published_where,
        )
        await self._step("open_publicity", CycleActivities.open_publicity, opening)
        await self._enter(Phase.PUBLICITY)
        self.deadline = self.publicity_ends_at
        await self._wait(lambda: self.outcome is not None)
        return self.v3 and self._proposal.changed

    async def _announce(self) -> None:
        outcome = present(self.outcome, "publicity outcome")
        if self.v3:
            record = AnnouncementRecord(
                self.inp.cycle_id,
                self._proposal.version,
                outcome.announcement_document_no,
                outcome.actor.user_id,
            )
            await self._step("record_announcement", CycleActivities.record_announcement, record)
        await self._enter(Phase.ANNOUNCED, outcome.announcement_document_no)
        if self.v3:
            await self._outcomes("ANNOUNCED")

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
        await self._step("create_performance_targets", CycleActivities.create_performance_targets, targets)
        if self.v3:
            await self._outcomes("DISBURSED")

    async def _pay(self, request: DisbursementRequest) -> bool:
        """True when the award was paid, False when the treasury refused it."""
        if workflow.patched(TYPED_DISBURSEMENT_RESULT):
            result: DisbursementResult = await self._step(
                "disburse_award", CycleActivities.disburse_award, request
            )
            return result.paid
        # Histories recorded before the typed result: the activity answered a reference string.
        ref: str = await workflow.execute_activity(
            "disburse_award",
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=V2_RETRY,
            result_type=str,
        )
        return not ref.startswith("FAILED:")

    async def _supervise(self) -> None:
        await self._enter(Phase.SUPERVISING)
        deadline = await self._span_deadline(self.inp.supervision)
        if deadline is None or await self._until(deadline, lambda: self.supervision_done):
            await self._wait(lambda: self.supervision_done)
            return
        status = await self._step("supervision_status", CycleActivities.supervision_status, self.inp.cycle_id)
        self.counts.evaluated = status.evaluated
        if not (status.awards and status.evaluated == status.awards):
            await self._wait(lambda: self.supervision_done)

    async def _close(self, note: str) -> CycleStatus:
        if self.v3:  # what the cycle did not spend goes back to the appropriation
            await self._step("close_budget", CycleActivities.close_budget, self.inp.cycle_id)
        await self._enter(Phase.CLOSED, note)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _return_to_proposal(self, why: str, d: ProposalDecision) -> None:
        self.resubmitted = False
        await self._enter(Phase.PROPOSAL, f"{why}: {d.opinion}")
        await self._wait(lambda: self.resubmitted)

    async def _compute_proposal(self) -> None:
        request = ProposalRequest(self.inp.cycle_id, self.inp.budget_fen)
        self._set_proposal(await self._decide(CycleActivities.compute_proposal, request))
        self.expert_review_done = True

    def _set_proposal(self, summary: ProposalSummary) -> None:
        if not workflow.patched(LINES_CARRY_ORGANIZATION):
            # Histories recorded before review's lines carried the organisation: attach it here.
            orgs = {a.application_id: a.organization_id for a in self.recommended}
            for line in summary.lines:
                line.organization_id = line.organization_id or orgs.get(line.application_id, "")
        self.proposal = summary
        self.counts.awarded = sum(1 for line in summary.lines if line.amount_fen > 0)
        self.counts.reserve = summary.reserve_count or len(summary.reserve)

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
            attention=self.attention,
            deadline=self.deadline.isoformat() if self.deadline else "",
        )

    # ------------------------------------------------------------------ decisions (updates)

    @workflow.update
    async def sign_city_recommendation(self, s: CitySignoff) -> SignoffResult:
        async with self.lock:
            self.validate_sign_city_recommendation(s)  # state may have moved while waiting for the lock
            signed = {**self.signoffs.get(s.city_code, {}), s.actor.role: s}
            at = {**self.signed_at.get(s.city_code, {}), s.actor.role: workflow.now().isoformat()}
            complete = all(r in signed for r in CITY_ROLES)
            if not self.v3:  # years recorded before V3 kept the sign-off before recording it
                self.signoffs[s.city_code], self.signed_at[s.city_code] = signed, at
            if complete:
                await self._record_city(s, signed, at)
            self.signoffs[s.city_code], self.signed_at[s.city_code] = signed, at
            self._taken(s.actor)
            return SignoffResult(s.city_code, s.document_no, sorted(signed), complete, dict(at))

    async def _record_city(self, s: CitySignoff, signed: dict[str, CitySignoff], at: dict[str, str]) -> None:
        record = RecommendationRecord(
            self.inp.cycle_id,
            s.city_code,
            s.document_no,
            s.items,
            [signed[r].actor for r in CITY_ROLES],
            at,
            {r: {i.application_id: i.opinion for i in signed[r].items} for r in CITY_ROLES},
        )
        if self.v3:
            outcome: RecommendationOutcome = await self._decide(CycleActivities.record_recommendation, record)
            self.counts.recommended += outcome.recommended
        else:
            await workflow.execute_activity(
                "record_recommendation",
                record,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=V2_RETRY,
            )
            chosen = {i.application_id for i in s.items if i.recommended}
            self.recommended.extend(a for a in self.submitted[s.city_code] if a.application_id in chosen)
            self.counts.recommended = len(self.recommended)
        self.cities_done.add(s.city_code)
        self.counts.cities_recommended = len(self.cities_done)

    @sign_city_recommendation.validator
    def validate_sign_city_recommendation(self, s: CitySignoff) -> None:
        self._check_request(s.actor)
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
        if not self.submitted_by_city.get(s.city_code):
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
        if not self.v3:
            self._validate_items_v2(s)
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

    def _validate_items_v2(self, s: CitySignoff) -> None:
        """Years before V3 held each city's list; since, intake checks the items before the update."""
        expected = sorted(a.application_id for a in self.submitted.get(s.city_code, []))
        given = sorted(i.application_id for i in s.items)
        if given != expected:
            raise _refuse(
                "INVALID_ARGUMENT",
                f"items must list each of the city's {len(expected)} submitted applications exactly once: "
                f"{', '.join(expected)}",
                f"须逐一列明本市全部 {len(expected)} 个申报项目的推荐意见",
                field="items",
            )

    @workflow.update
    async def decide_compliance(self, d: ComplianceDecisions) -> ComplianceResult:
        async with self.lock:
            self.validate_decide_compliance(d)
            record = ComplianceRecord(
                self.inp.cycle_id, d.actor.user_id, workflow.now().isoformat(), d.decisions
            )
            if self.v3:
                outcome: ComplianceOutcome = await self._decide(CycleActivities.record_compliance, record)
                del outcome  # review's own counts; the workflow counts the decisions it accepted
            else:
                await workflow.execute_activity(
                    "record_compliance",
                    record,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=V2_RETRY,
                )
            for item in d.decisions:
                self.compliance[item.application_id] = item.compliant
            self.counts.compliant = sum(self.compliance.values())
            self.counts.compliance_decided = len(self.compliance)
            total = self.candidates if self.v3 else len(self.recommended)
            self._taken(d.actor)
            return ComplianceResult(len(self.compliance), total - len(self.compliance))

    @decide_compliance.validator
    def validate_decide_compliance(self, d: ComplianceDecisions) -> None:
        self._check_request(d.actor)
        if self.phase != Phase.COMPLIANCE_REVIEW:
            raise _wrong_phase("DecideCompliance", "合规性审核", self.phase, "COMPLIANCE_REVIEW")
        known = {a.application_id for a in self.recommended}
        for i, item in enumerate(d.decisions):
            field = f"decisions[{i}].application_id"
            if not self.v3 and item.application_id not in known:
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
                if self.v3:
                    await self._record(
                        "EXPERT_REVIEW_CONCLUDED", "expert-review", actor=c.actor, opinion=c.summary
                    )
            self._taken(c.actor)
            return self._proposal.version

    @conclude_expert_review.validator
    def validate_conclude_expert_review(self, c: Conclusion) -> None:
        self._check_request(c.actor)
        if self.phase != Phase.EXPERT_REVIEW:
            raise _wrong_phase("ConcludeExpertReview", "结束专家评审", self.phase, "EXPERT_REVIEW")

    @workflow.update
    async def decide_finance_concurrence(self, d: ProposalDecision) -> str:
        async with self.lock:
            self.validate_decide_finance_concurrence(d)
            if d.approve:  # the money is set aside only once finance agrees (Art. 3 total-amount control)
                reservation = Reservation(self.inp.cycle_id, self._proposal.version, self._awards())
                await self._decide(CycleActivities.reserve_funds, reservation)
            if self.v3:
                await self._record(
                    "FINANCE_CONCURRENCE",
                    f"finance-v{d.proposal_version}-{len(self.history)}",
                    actor=d.actor,
                    approve=d.approve,
                    opinion=d.opinion,
                )
            self.decision = d
            self._taken(d.actor)
            return "concurred" if d.approve else "returned"

    @decide_finance_concurrence.validator
    def validate_decide_finance_concurrence(self, d: ProposalDecision) -> None:
        self._check_request(d.actor)
        if self.phase != Phase.FINANCE_CONCURRENCE or self.decision is not None:
            raise _wrong_phase("DecideFinanceConcurrence", "财政厅会签", self.phase, "FINANCE_CONCURRENCE")
        self._check_version(d)

    @workflow.update
    async def decide_party_group_approval(self, d: ProposalDecision) -> str:
        async with self.lock:
            self.validate_decide_party_group_approval(d)
            if self.v3:
                await self._record(
                    "PARTY_GROUP",
                    f"party-v{d.proposal_version}-{len(self.history)}",
                    actor=d.actor,
                    approve=d.approve,
                    opinion=d.opinion,
                    reference=d.reference,
                )
            self.decision = d
            self._taken(d.actor)
            return "approved" if d.approve else "rejected"

    @decide_party_group_approval.validator
    def validate_decide_party_group_approval(self, d: ProposalDecision) -> None:
        self._check_request(d.actor)
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
    async def revise_proposal(self, r: ProposalRevision) -> int:
        async with self.lock:
            self.validate_revise_proposal(r)
            request = RevisionRequest(
                self.inp.cycle_id, r.proposal_version, r.changes, r.note, r.actor.user_id
            )
            summary = await self._decide(CycleActivities.revise_proposal, request)
            self._set_proposal(summary)
            reasons = "; ".join(f"{c.application_id}: {c.reason}" for c in r.changes)
            await self._record(
                "PROPOSAL_REVISED", f"revised-v{summary.version}", actor=r.actor, opinion=r.note or reasons
            )
            self._taken(r.actor)
            return summary.version

    @revise_proposal.validator
    def validate_revise_proposal(self, r: ProposalRevision) -> None:
        self._check_request(r.actor)
        if self.phase != Phase.PROPOSAL or self.resubmitted or not self.note:
            raise _wrong_phase("ReviseProposal", "修改资金分配建议", self.phase, "PROPOSAL (after a return)")
        self._check_version(ProposalDecision(r.actor, r.proposal_version, False, ""))
        if not r.changes:
            raise _refuse(
                "INVALID_ARGUMENT",
                "changes: at least one change is required",
                "须至少修改一项",
                field="changes",
            )

    @workflow.update
    async def resubmit_proposal(self, c: Conclusion) -> int:
        async with self.lock:
            self.validate_resubmit_proposal(c)
            if self.v3:
                await self._record(
                    "PROPOSAL_RESUBMITTED",
                    f"resubmitted-{len(self.history)}",
                    actor=c.actor,
                    opinion=c.summary,
                )
            self.resubmitted = True
            self._taken(c.actor)
            return self._proposal.version

    @resubmit_proposal.validator
    def validate_resubmit_proposal(self, c: Conclusion) -> None:
        self._check_request(c.actor)
        if self.phase != Phase.PROPOSAL or self.resubmitted or not self.history or not self.note:
            raise _wrong_phase(
                "ResubmitProposal", "重新报送资金分配建议", self.phase, "PROPOSAL (after a return)"
            )

    @workflow.update
    async def decide_publicity_outcome(self, o: PublicityOutcome) -> int:
        async with self.lock:
            self.validate_decide_publicity_outcome(o)
            final = await self._decide(CycleActivities.close_publicity, self.inp.cycle_id)
            if self.v3:
                self._set_proposal(final)
                if final.changed:
                    self.note = (
                        f"upheld objections changed the list: version {final.version} returns to finance "
                        f"concurrence / 异议成立，名单调整为第{final.version}版，重新报财政厅会签"
                    )
                await self._record(
                    "PUBLICITY_OUTCOME",
                    f"publicity-v{final.version}-{len(self.history)}",
                    actor=o.actor,
                    approve=not final.changed,
                    reference=o.announcement_document_no,
                )
            elif final.version != self._proposal.version:
                # Years before V3: the reservation followed the changed list at once.
                self._set_proposal(final)
                reservation = Reservation(self.inp.cycle_id, final.version, self._awards())
                await self._act(CycleActivities.reserve_funds, reservation)
            self.outcome = o
            self._taken(o.actor)
            return self._proposal.version

    @decide_publicity_outcome.validator
    def validate_decide_publicity_outcome(self, o: PublicityOutcome) -> None:
        self._check_request(o.actor)
        if self.phase != Phase.PUBLICITY or self.outcome is not None:
            raise _wrong_phase("DecidePublicityOutcome", "公示结果确认", self.phase, "PUBLICITY")
        ends = self.deadline if self.v3 and self.deadline else self.publicity_ends_at
        if ends and workflow.now() < ends:
            raise _refuse(
                "FAILED_PRECONDITION",
                f"the publicity period runs until {ends.isoformat()}",
                f"公示期至 {ends.isoformat()} 结束，尚未期满",
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
            status: SupervisionStatus = await self._decide(
                CycleActivities.supervision_status, self.inp.cycle_id
            )
            self.counts.evaluated = status.evaluated
            if status.evaluated < status.awards:
                raise _refuse(
                    "FAILED_PRECONDITION",
                    f"{status.awards - status.evaluated} of {status.awards} awards are not yet evaluated",
                    f"尚有 {status.awards - status.evaluated} 个项目未完成绩效评价",
                )
            if self.v3:
                record = ConclusionRecord(
                    self.inp.cycle_id, c.summary, c.actor, status.awards, status.evaluated
                )
                await self._decide(CycleActivities.record_supervision_conclusion, record)
                await self._record("SUPERVISION_CONCLUDED", "supervision", actor=c.actor, opinion=c.summary)
            self.supervision_done = True
            self._taken(c.actor)
            return "closing"

    @conclude_supervision.validator
    def validate_conclude_supervision(self, c: Conclusion) -> None:
        self._check_request(c.actor)
        if self.phase != Phase.SUPERVISING:
            raise _wrong_phase("ConcludeSupervision", "结束绩效监管", self.phase, "SUPERVISING")

    @workflow.update
    async def extend_deadline(self, e: DeadlineExtension) -> str:
        async with self.lock:
            self.validate_extend_deadline(e)
            new = datetime.fromisoformat(e.new_deadline)
            await self._record(
                "DEADLINE_EXTENDED",
                f"deadline-{e.phase}-{self.extensions + 1}",
                actor=e.actor,
                opinion=e.reason,
                reference=str(e.phase),
                details={
                    "phase": str(e.phase),
                    "from": present(self.deadline, "deadline").isoformat(),
                    "to": new.isoformat(),
                    "new_deadline": new.isoformat(),
                },
            )
            self.deadline = new
            if self.phase == Phase.PUBLICITY:
                self.publicity_ends_at = new
            self.extensions += 1
            self._taken(e.actor)
            return new.isoformat()

    @extend_deadline.validator
    def validate_extend_deadline(self, e: DeadlineExtension) -> None:
        self._check_request(e.actor)
        if e.phase != self.phase or self.phase not in EXTENDABLE or self.deadline is None:
            raise _wrong_phase("ExtendDeadline", "延长期限", self.phase, ", ".join(EXTENDABLE))
        if not e.reason.strip():
            raise _refuse(
                "INVALID_ARGUMENT", "reason: a reason is required", "须说明延期理由", field="reason"
            )
        try:
            new = datetime.fromisoformat(e.new_deadline)
        except ValueError:
            raise _refuse(
                "INVALID_ARGUMENT", "new_deadline is not a time", "新期限不是有效时间", field="new_deadline"
            ) from None
        if new.tzinfo is None or new <= self.deadline or new <= workflow.now():
            raise _refuse(
                "INVALID_ARGUMENT",
                f"new_deadline must be later than the current deadline {self.deadline.isoformat()} and than now",
                f"新期限须晚于当前期限 {self.deadline.isoformat()} 和当前时间",
                field="new_deadline",
            )

    @workflow.update
    async def resume(self, r: Resumption) -> str:
        async with self.lock:
            self.validate_resume(r)
            attention = present(self.attention, "attention")
            await self._record(
                "RESUMED",
                f"resumed-{self.resumptions}",
                actor=r.actor,
                opinion=r.note,
                details={"step": attention.step},
            )
            self.resumptions += 1
            self._taken(r.actor)
            return attention.step

    @resume.validator
    def validate_resume(self, r: Resumption) -> None:
        self._check_request(r.actor)
        if self.attention is None:
            raise _refuse(
                "FAILED_PRECONDITION",
                "the cycle does not need attention; nothing to resume",
                "该年度申报无待处理异常，无需恢复",
                reason="NOT_NEEDING_ATTENTION",
            )
        if not r.note.strip():
            raise _refuse("INVALID_ARGUMENT", "note: say what was fixed", "须说明已排除的问题", field="note")

    # ------------------------------------------------------------------ helpers

    def _check_request(self, actor: Actor) -> None:
        """A decision is taken once: a request id seen before is refused (a replayed payload)."""
        if self.v3 and actor.request_id and actor.request_id in self.requests:
            raise _refuse(
                "ALREADY_EXISTS",
                "this decision request was already received",
                "该决定请求已受理，不能重复提交",
                reason="DUPLICATE_REQUEST",
            )

    def _taken(self, actor: Actor) -> None:
        if actor.request_id:
            self.requests.add(actor.request_id)

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
