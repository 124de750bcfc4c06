"""The cycle's activities: each is one idempotent gRPC call to the service that owns the record,
made with the worker's service-account token. A refusal by the service (bad input, wrong state)
becomes a non-retryable ``ApplicationError`` encoded by ``refusals.py``; everything transient —
unreachable, overloaded, timed out, a lost race, or an INTERNAL fault such as a full or read-only
disk — is raised as it is, so Temporal retries it (the run of a year without an attempt limit)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from temporalio import activity

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform import workdays
from aicc.platform.clients import Clients
from aicc.platform.convert import ts
from aicc.platform.errors import FailedPrecondition, error_for
from aicc.platform.settings import Settings
from aicc.platform.status import is_transient, read_error
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb
from workflows.cycle.models import (
    AnnouncementRecord,
    AwardLine,
    BudgetOpening,
    ComplianceOutcome,
    ComplianceRecord,
    ConclusionRecord,
    DeadlineRequest,
    DecisionRecord,
    DisbursementRequest,
    DisbursementResult,
    OutcomesRequest,
    PanelDraw,
    PhaseChange,
    ProposalRequest,
    ProposalSummary,
    PublicityOpening,
    RecommendationOutcome,
    RecommendationRecord,
    Reservation,
    ReviewOpening,
    RevisionRequest,
    Submissions,
    SupervisionStatus,
    TargetsRequest,
)
from workflows.cycle.refusals import to_application_error

TIMEOUT = 20
# Besides the transient codes: a lost race, and a fault of the service itself (e.g. its disk is full
# or read-only, its audit record could not be written) — both may pass; neither is a refusal.
_RETRIED = {grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
TIER_NAMES = {rpb.TIER_EXCELLENT: "excellent", rpb.TIER_ADVANCED: "advanced", rpb.TIER_NONE: "none"}


T = TypeVar("T")


class ServiceAccountToken:
    """Logs the worker in with its service account and renews the token before it expires."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._token: str | None = None
        self._expires = 0.0
        self._clients = Clients(settings, token_source=None)

    async def __call__(self) -> str:
        if self._token is None or time.time() > self._expires - 60:
            password = self.settings.resolved_worker_password()
            if not password:
                raise RuntimeError(
                    "the worker's service-account password is not configured (AICC_WORKER_PASSWORD_FILE)"
                )
            resp = await self._clients.identity.Login(
                ipb.LoginRequest(username=self.settings.worker_username, password=password), timeout=TIMEOUT
            )
            self._token = resp.access_token
            self._expires = resp.expires_at.seconds
        return self._token

    async def close(self) -> None:
        await self._clients.close()


async def _call(method: Callable[..., Awaitable[T]], request: Message) -> T:
    try:
        return await method(request, timeout=TIMEOUT)
    except grpc.aio.AioRpcError as e:
        if is_transient(e.code()) or e.code() in _RETRIED:  # Temporal retries these
            raise
        err = read_error(e)
        raise to_application_error(
            error_for(
                err.code.name,
                err.message,
                err.message_zh,
                reason=err.reason,
                metadata=err.metadata,
                violations=err.violations,
            )
        ) from None


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def summary_of(p: rpb.Proposal, *, changed: bool = False) -> ProposalSummary:
    """The workflow's view of a proposal: its funded lines (at most the quota) and counts; the
    reserve list stays in review (payloads do not grow with the year)."""
    lines = [
        AwardLine(
            application_id=line.application_id,
            organization_id=line.organization_id,
            city_code=line.city_code,
            enterprise_name=line.enterprise_name,
            tier=TIER_NAMES.get(line.tier, "none"),
            amount_fen=line.amount_fen,
            rank=line.rank,
            final_score=line.final_score,
        )
        for line in p.lines
        if line.amount_fen > 0
    ]
    return ProposalSummary(
        version=p.version,
        lines=lines,
        reserve=[],
        allocated_fen=p.allocated_fen,
        reserve_count=sum(1 for line in p.lines if line.reserve),
        changed=changed,
    )


class CycleActivities:
    def __init__(self, clients: Clients) -> None:
        self.c = clients

    @activity.defn(name="record_phase")
    async def record_phase(self, x: PhaseChange) -> None:
        await _call(
            self.c.intake.RecordCyclePhase,
            inpb.RecordCyclePhaseRequest(
                cycle_id=x.cycle_id,
                phase=inpb.CyclePhase.Value(f"CYCLE_PHASE_{x.phase}"),
                note=x.note,
                proposal_version=x.proposal_version,
            ),
        )

    @activity.defn(name="open_budget")
    async def open_budget(self, x: BudgetOpening) -> None:
        await _call(
            self.c.funding.OpenBudget,
            fpb.OpenBudgetRequest(
                cycle_id=x.cycle_id,
                total_fen=x.total_fen,
                fiscal_year=x.fiscal_year,
                caps=[fpb.TierCap(tier=c.tier, cap_fen=c.cap_fen) for c in x.caps],
            ),
        )

    @activity.defn(name="close_application_window")
    async def close_application_window(self, cycle_id: str) -> Submissions:
        resp = await _call(
            self.c.intake.CloseApplicationWindow, inpb.CloseApplicationWindowRequest(cycle_id=cycle_id)
        )
        return Submissions(total=resp.total, by_city={c.city_code: c.submitted for c in resp.cities})

    @activity.defn(name="record_recommendation")
    async def record_recommendation(self, x: RecommendationRecord) -> RecommendationOutcome:
        def opinions(app_id: str) -> list[inpb.BureauOpinion]:
            return [
                inpb.BureauOpinion(role=role, opinion=by_app[app_id])
                for role, by_app in sorted(x.opinions.items())
                if app_id in by_app
            ]

        rec = inpb.Recommendation(
            cycle_id=x.cycle_id,
            city_code=x.city_code,
            document_no=x.document_no,
            items=[
                inpb.RecommendationItem(
                    application_id=i.application_id,
                    recommended=i.recommended,
                    opinion=i.opinion,
                    opinions=opinions(i.application_id),
                )
                for i in x.items
            ],
            signoffs=[
                inpb.Signoff(
                    role=a.role,
                    user_id=a.user_id,
                    display_name=a.display_name,
                    signed_at=ts(datetime.fromisoformat(x.signed_at[a.role])),
                )
                for a in x.signoffs
            ],
            complete=True,
        )
        resp = await _call(
            self.c.intake.RecordRecommendation, inpb.RecordRecommendationRequest(recommendation=rec)
        )
        return RecommendationOutcome(recommended=resp.recommended)

    @activity.defn(name="open_review")
    async def open_review(self, x: ReviewOpening) -> int:
        resp = await _call(
            self.c.review.OpenReview,
            rpb.OpenReviewRequest(
                cycle_id=x.cycle_id,
                policy_json=x.policy_json,
                candidates=[
                    rpb.Candidate(
                        application_id=a.application_id,
                        organization_id=a.organization_id,
                        operator_organization_id=a.operator_organization_id,
                        enterprise_name=a.enterprise_name,
                        city_code=a.city_code,
                        submitted_at=ts(datetime.fromisoformat(a.submitted_at)),
                        materials=[
                            rpb.Material(
                                material_id=m.material_id,
                                kind=m.kind,
                                filename=m.filename,
                                sha256=m.sha256,
                                size_bytes=m.size_bytes,
                            )
                            for m in a.materials
                        ],
                        title=a.title,
                    )
                    for a in x.candidates
                ],
            ),
        )
        return int(resp.candidates)

    @activity.defn(name="record_compliance")
    async def record_compliance(self, x: ComplianceRecord) -> ComplianceOutcome:
        at = ts(datetime.fromisoformat(x.decided_at))
        resp = await _call(
            self.c.review.RecordComplianceDecisions,
            rpb.RecordComplianceDecisionsRequest(
                cycle_id=x.cycle_id,
                decisions=[
                    rpb.ComplianceReview(
                        application_id=d.application_id,
                        compliant=d.compliant,
                        reasons=d.reasons,
                        decided_by=x.decided_by,
                        decided_at=at,
                    )
                    for d in x.decisions
                ],
            ),
        )
        return ComplianceOutcome(decided=resp.decided, compliant=resp.compliant, remaining=resp.remaining)

    @activity.defn(name="draw_panels")
    async def draw_panels(self, x: PanelDraw) -> int:
        resp = await _call(self.c.review.DrawPanels, rpb.DrawPanelsRequest(cycle_id=x.cycle_id, seed=x.seed))
        return len(resp.assignments)

    @activity.defn(name="compute_proposal")
    async def compute_proposal(self, x: ProposalRequest) -> ProposalSummary:
        resp = await _call(
            self.c.review.ComputeProposal,
            rpb.ComputeProposalRequest(cycle_id=x.cycle_id, budget_fen=x.budget_fen),
        )
        return summary_of(resp.proposal)

    @activity.defn(name="revise_proposal")
    async def revise_proposal(self, x: RevisionRequest) -> ProposalSummary:
        resp = await _call(
            self.c.review.ReviseProposal,
            rpb.ReviseProposalRequest(
                cycle_id=x.cycle_id,
                base_version=x.base_version,
                changes=[
                    rpb.ProposalChange(
                        application_id=c.application_id,
                        amount_fen=c.amount_fen,
                        reason=c.reason,
                        promote=c.promote,
                    )
                    for c in x.changes
                ],
                note=x.note,
                decided_by=x.decided_by,
            ),
        )
        return summary_of(resp.proposal)

    @activity.defn(name="reserve_funds")
    async def reserve_funds(self, x: Reservation) -> None:
        await _call(
            self.c.funding.ReserveFunds,
            fpb.ReserveFundsRequest(
                cycle_id=x.cycle_id,
                proposal_version=x.proposal_version,
                lines=[
                    fpb.ReservationLine(
                        application_id=a.application_id,
                        organization_id=a.organization_id,
                        amount_fen=a.amount_fen,
                        city_code=a.city_code,
                        tier=a.tier,
                    )
                    for a in x.lines
                ],
            ),
        )

    @activity.defn(name="deadline_after")
    async def deadline_after(self, x: DeadlineRequest) -> str:
        try:
            end = workdays.deadline_after(
                datetime.fromisoformat(x.start), seconds=x.span.seconds, working_days=x.span.working_days
            )
        except workdays.WorkdayCalendarError as e:  # a person must add the year's calendar: a refusal
            raise to_application_error(
                FailedPrecondition(
                    str(e), str(e), reason="NO_WORKDAY_CALENDAR", metadata={"year": str(e.year)}
                )
            ) from None
        return end.isoformat()

    @activity.defn(name="open_publicity")
    async def open_publicity(self, x: PublicityOpening) -> None:
        await _call(
            self.c.review.OpenPublicity,
            rpb.OpenPublicityRequest(
                cycle_id=x.cycle_id,
                proposal_version=x.proposal_version,
                ends_at=ts(datetime.fromisoformat(x.ends_at)),
                published_where=x.published_where,
            ),
        )

    @activity.defn(name="close_publicity")
    async def close_publicity(self, cycle_id: str) -> ProposalSummary:
        resp = await _call(self.c.review.ClosePublicity, rpb.ClosePublicityRequest(cycle_id=cycle_id))
        return summary_of(resp.proposal, changed=resp.changed)

    @activity.defn(name="record_announcement")
    async def record_announcement(self, x: AnnouncementRecord) -> None:
        await _call(
            self.c.review.RecordAnnouncement,
            rpb.RecordAnnouncementRequest(
                cycle_id=x.cycle_id,
                proposal_version=x.proposal_version,
                document_no=x.document_no,
                announced_by=x.announced_by,
            ),
        )

    @activity.defn(name="disburse_award")
    async def disburse_award(self, x: DisbursementRequest) -> DisbursementResult:
        a = x.award
        resp = await _call(
            self.c.funding.DisburseAward,
            fpb.DisburseAwardRequest(
                cycle_id=x.cycle_id,
                application_id=a.application_id,
                organization_id=a.organization_id,
                amount_fen=a.amount_fen,
                idempotency_key=x.idempotency_key,
                city_code=a.city_code,
            ),
        )
        d = resp.disbursement
        if d.status != fpb.DISBURSEMENT_STATUS_PAID:
            return DisbursementResult(paid=False, failure=d.failure or "refused by the treasury")
        return DisbursementResult(paid=True, treasury_reference=d.treasury_reference)

    @activity.defn(name="create_performance_targets")
    async def create_performance_targets(self, x: TargetsRequest) -> int:
        resp = await _call(
            self.c.supervision.CreatePerformanceTargets,
            spb.CreatePerformanceTargetsRequest(
                cycle_id=x.cycle_id,
                awards=[
                    spb.AwardRef(
                        application_id=a.application_id,
                        organization_id=a.organization_id,
                        amount_fen=a.amount_fen,
                        city_code=a.city_code,
                    )
                    for a in x.awards
                ],
                templates=[
                    spb.TargetTemplate(
                        code=t.code, description=t.description, unit=t.unit, target_value=t.target_value
                    )
                    for t in x.templates
                ],
            ),
        )
        return len(resp.targets)

    @activity.defn(name="supervision_status")
    async def supervision_status(self, cycle_id: str) -> SupervisionStatus:
        resp = await _call(
            self.c.supervision.GetSupervisionStatus, spb.GetSupervisionStatusRequest(cycle_id=cycle_id)
        )
        return SupervisionStatus(resp.awards, resp.reported, resp.evaluated)

    @activity.defn(name="record_supervision_conclusion")
    async def record_supervision_conclusion(self, x: ConclusionRecord) -> None:
        await _call(
            self.c.supervision.RecordSupervisionConclusion,
            spb.RecordSupervisionConclusionRequest(
                conclusion=spb.SupervisionConclusion(
                    cycle_id=x.cycle_id,
                    summary=x.summary,
                    concluded_by=x.actor.user_id,
                    concluded_by_name=x.actor.display_name,
                    awards=x.awards,
                    evaluated=x.evaluated,
                )
            ),
        )

    @activity.defn(name="close_budget")
    async def close_budget(self, cycle_id: str) -> None:
        await _call(self.c.funding.CloseBudget, fpb.CloseBudgetRequest(cycle_id=cycle_id))

    @activity.defn(name="record_decision")
    async def record_decision(self, x: DecisionRecord) -> None:
        actor = x.actor
        decision = inpb.CycleDecision(
            cycle_id=x.cycle_id,
            kind=inpb.CycleDecisionKind.Value(f"CYCLE_DECISION_KIND_{x.kind}"),
            actor_user_id=actor.user_id if actor else "",
            actor_name=actor.display_name if actor else "",
            role=actor.role if actor else "",
            proposal_version=x.proposal_version,
            approve=x.approve,
            opinion=x.opinion,
            reference=x.reference,
            decided_at=ts(activity.info().current_attempt_scheduled_time),
            details=x.details,
        )
        await _call(
            self.c.intake.RecordCycleDecision,
            inpb.RecordCycleDecisionRequest(decision=decision, idempotency_key=x.idempotency_key),
        )

    @activity.defn(name="record_outcomes")
    async def record_outcomes(self, x: OutcomesRequest) -> int:
        resp = await _call(
            self.c.intake.RecordApplicationOutcomes,
            inpb.RecordApplicationOutcomesRequest(
                cycle_id=x.cycle_id,
                stage=inpb.OutcomeStage.Value(f"OUTCOME_STAGE_{x.stage}"),
                proposal_version=x.proposal_version,
            ),
        )
        return int(resp.updated)

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [
            self.record_phase,
            self.open_budget,
            self.close_application_window,
            self.record_recommendation,
            self.open_review,
            self.record_compliance,
            self.draw_panels,
            self.compute_proposal,
            self.revise_proposal,
            self.reserve_funds,
            self.deadline_after,
            self.open_publicity,
            self.close_publicity,
            self.record_announcement,
            self.disburse_award,
            self.create_performance_targets,
            self.supervision_status,
            self.record_supervision_conclusion,
            self.close_budget,
            self.record_decision,
            self.record_outcomes,
        ]
