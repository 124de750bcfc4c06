"""IntakeService: request validation and proto ⇄ domain mapping; the use cases are in ``domain/``.
Decisions that advance a cycle go to its workflow through the domain's ``CycleWorkflows`` port."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import grpc

from aicc.intake.v1 import intake_pb2 as pb
from aicc.intake.v1 import intake_pb2_grpc
from aicc.platform.auth import principal
from aicc.platform.clock import now_utc
from aicc.platform.convert import ts
from aicc.platform.errors import present
from aicc.platform.pagination import PageRequest, PageTokens, page_size
from aicc.platform.ports import UnitOfWork
from aicc.platform.validation import Check
from services.intake.domain import (
    applications,
    cycles,
    decisions,
    outcomes,
    recommendations,
    workflow_records,
)
from services.intake.domain.model import (
    Application,
    ApplicationDraft,
    ApplicationFilter,
    ApplicationStatus,
    BureauOpinion,
    Cycle,
    CycleDecision,
    CycleView,
    DecisionKind,
    Declaration,
    Instance,
    Material,
    MaterialInput,
    OutcomeStage,
    Recommendation,
    RecommendationLine,
    Signoff,
)
from services.intake.domain.ports import (
    CycleWorkflows,
    FundingRecords,
    IdentityRegistry,
    IntakeRepository,
    ReviewRecords,
)
from workflows.cycle.models import (
    CITY_ROLES,
    ComplianceItem,
    CycleStatus,
    Phase,
    ProposalChange,
    RecommendationItem,
)

Context = grpc.aio.ServicerContext

PHASE_TO_PB: dict[Phase, pb.CyclePhase.ValueType] = {
    p: pb.CyclePhase.Value(f"CYCLE_PHASE_{p.value}") for p in Phase
}
PB_TO_PHASE = {v: k for k, v in PHASE_TO_PB.items()}
STATUS_TO_PB: dict[ApplicationStatus, pb.ApplicationStatus.ValueType] = {
    s: pb.ApplicationStatus.Value(f"APPLICATION_STATUS_{s.value}") for s in ApplicationStatus
}
PB_TO_STATUS = {v: k for k, v in STATUS_TO_PB.items()}
KIND_TO_PB: dict[DecisionKind, pb.CycleDecisionKind.ValueType] = {
    k: pb.CycleDecisionKind.Value(f"CYCLE_DECISION_KIND_{k.value}") for k in DecisionKind
}
PB_TO_KIND = {v: k for k, v in KIND_TO_PB.items()}

# One DecideCompliance request travels as one workflow update: bounded whatever the year's size
# (worst case 200 × 5 × 500 characters stays under Temporal's 2 MB payload limit). Province industry
# decides a large year in several requests; the response says how many remain.
MAX_COMPLIANCE_DECISIONS = 200
MAX_REASONS = 5
MAX_REASON_CHARS = 500
STAGES: dict[pb.OutcomeStage.ValueType, OutcomeStage] = {
    pb.OutcomeStage.Value(f"OUTCOME_STAGE_{s.value}"): s for s in OutcomeStage
}


class IntakeDeps(Protocol):
    """What the servicer needs, built once by the service's App."""

    @property
    def uow(self) -> UnitOfWork[IntakeRepository]: ...

    @property
    def identity(self) -> IdentityRegistry: ...

    @property
    def workflows(self) -> CycleWorkflows:
        """The connected workflow adapter (UNAVAILABLE until Temporal is connected)."""
        ...

    @property
    def review(self) -> ReviewRecords: ...

    @property
    def funding(self) -> FundingRecords: ...

    @property
    def page_tokens(self) -> PageTokens: ...

    @property
    def instance(self) -> Instance: ...

    @property
    def policy_dir(self) -> Path | None: ...


# ---------------------------------------------------------------- domain → proto


def cycle_pb(c: Cycle, status: CycleStatus | None = None) -> pb.Cycle:
    """The stored cycle; with its workflow's state (phase, history, counts) when given."""
    msg = pb.Cycle(
        cycle_id=c.cycle_id,
        title=c.title,
        policy_id=c.policy_id,
        scope=c.scope,
        city_code=c.city_code,
        phase=PHASE_TO_PB[Phase(status.phase) if status else c.phase],
        legal_basis=list(c.legal_basis),
        applications_open_at=ts(c.applications_open_at),
        applications_close_at=ts(c.applications_close_at),
        city_review_due_at=ts(c.city_review_due_at),
        budget_fen=c.budget_fen,
        workflow_id=c.workflow_id,
        proposal_version=status.proposal_version if status else c.proposal_version,
        created_at=ts(c.created_at),
        note=status.note if status else c.note,
        publicity_ends_at=ts(datetime.fromisoformat(status.publicity_ends_at))
        if status and status.publicity_ends_at
        else None,
        policy_version=c.policy_version,
        policy_sha256=c.policy_sha256,
        fiscal_year=c.funded_year,
    )
    if status:
        _attention(msg, status)
        msg.history.extend(
            pb.PhaseRecord(
                phase=PHASE_TO_PB[Phase(h.phase)], entered_at=ts(datetime.fromisoformat(h.at)), note=h.note
            )
            for h in status.history
        )
        n = status.counts
        msg.counts.CopyFrom(
            pb.CycleCounts(
                submitted=n.submitted,
                recommended=n.recommended,
                compliant=n.compliant,
                awarded=n.awarded,
                reserve=n.reserve,
                disbursed=n.disbursed,
                evaluated=n.evaluated,
                cities_recommended=n.cities_recommended,
            )
        )
    return msg


def _attention(msg: pb.Cycle, status: CycleStatus) -> None:
    """Needs attention (the reason, since when) and the current phase's deadline, from the workflow."""
    if status.deadline:
        msg.current_deadline.FromDatetime(datetime.fromisoformat(status.deadline).astimezone(UTC))
    a = status.attention
    if a is None:
        return
    msg.needs_attention = True
    msg.attention_reason = f"{a.step}: {a.reason}" if a.step else a.reason
    msg.attention_reason_zh = a.reason_zh
    if a.since:
        msg.attention_since.FromDatetime(datetime.fromisoformat(a.since).astimezone(UTC))


def _cycle_view_pb(view: CycleView) -> pb.Cycle:
    return cycle_pb(view.cycle, view.status)


def application_pb(a: Application, materials: list[Material] | None = None) -> pb.Application:
    d = a.declaration
    return pb.Application(
        application_id=a.application_id,
        cycle_id=a.cycle_id,
        organization_id=a.organization_id,
        operator_organization_id=a.operator_organization_id,
        enterprise_name=a.enterprise_name,
        city_code=a.city_code,
        title=a.title,
        service_lines=list(a.service_lines),
        status=STATUS_TO_PB[a.status],
        declaration=pb.AuthenticityDeclaration(
            signer_name=d.signer_name, signer_title=d.signer_title, accepted=d.accepted
        )
        if d
        else None,
        submitted_at=ts(a.submitted_at),
        eligibility_failures=[
            pb.EligibilityFailure(
                rule=f.rule,
                article=f.article,
                message=f.message,
                message_zh=f.message_zh,
                flag_only=f.flag_only,
            )
            for f in a.eligibility_failures
        ],
        recommendation_document_no=a.recommendation_document_no,
        materials=[
            pb.Material(
                material_id=m.material_id,
                kind=m.kind,
                filename=m.filename,
                sha256=m.sha256,
                size_bytes=m.size_bytes,
            )
            for m in materials or []
        ],
        created_at=ts(a.created_at),
        timeline=[
            pb.StatusChange(status=STATUS_TO_PB[s.status], at=ts(s.at), note=s.note) for s in a.timeline
        ],
        uscc=a.uscc,
    )


def recommendation_pb(r: Recommendation) -> pb.Recommendation:
    """A recorded joint recommendation: each application with both bureaus' opinions."""
    return pb.Recommendation(
        cycle_id=r.cycle_id,
        city_code=r.city_code,
        document_no=r.document_no,
        items=[
            pb.RecommendationItem(
                application_id=i.application_id,
                recommended=i.recommended,
                opinion=i.opinion,
                opinions=[pb.BureauOpinion(role=o.role, opinion=o.opinion) for o in i.opinions],
            )
            for i in r.items
        ],
        signoffs=[
            pb.Signoff(
                role=s.role,
                user_id=s.user_id,
                display_name=s.display_name,
                signed_at=ts(datetime.fromisoformat(s.signed_at)) if s.signed_at else None,
            )
            for s in r.signoffs
        ],
        complete=True,
    )


def decision_pb(d: CycleDecision) -> pb.CycleDecision:
    return pb.CycleDecision(
        decision_id=d.decision_id,
        cycle_id=d.cycle_id,
        kind=KIND_TO_PB[d.kind],
        actor_user_id=d.actor_user_id,
        actor_name=d.actor_name,
        role=d.role,
        proposal_version=d.proposal_version,
        approve=d.approve,
        opinion=d.opinion,
        reference=d.reference,
        decided_at=ts(d.decided_at),
        details=dict(d.details),
    )


# ---------------------------------------------------------------- the servicer


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, deps: IntakeDeps) -> None:
        self.deps = deps

    def _page(self, rpc: str, requested_size: int, token: str, query: Mapping[str, object]) -> PageRequest:
        return self.deps.page_tokens.read(
            token, caller=principal().user_id, rpc=rpc, query=query, size=page_size(requested_size)
        )

    def _next_token(self, rpc: str, cursor: list[object] | None, query: Mapping[str, object]) -> str:
        return self.deps.page_tokens.issue(cursor, caller=principal().user_id, rpc=rpc, query=query)

    @staticmethod
    def _check_cycle_id(cycle_id: str) -> None:
        """A request that names only its cycle."""
        v = Check()
        v.identifier("cycle_id", cycle_id)
        v.done()

    # ---------------------------------------------------------------- cycles

    async def CreateCycle(self, request: pb.CreateCycleRequest, context: Context) -> pb.CreateCycleResponse:
        v = Check()
        if v.identifier("cycle_id", request.cycle_id) and not request.cycle_id.replace("-", "").isalnum():
            v.fail("cycle_id", "must be letters, digits and '-' only", "只能包含字母、数字和 -")
        v.required("title", request.title) and v.max_length("title", request.title, 200)
        source = request.WhichOneof("policy")
        if source is None:
            v.fail("policy", "give policy_name or policy_yaml", "须提供 policy_name 或 policy_yaml")
        v.done()
        policy = cycles.read_policy(
            name=request.policy_name if source == "policy_name" else None,
            yaml_text=request.policy_yaml if source == "policy_yaml" else None,
            policy_dir=self.deps.policy_dir,
        )
        cycle = await cycles.create_cycle(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            title=request.title,
            policy=policy,
            instance=self.deps.instance,
            now=now_utc(),
            fiscal_year=request.fiscal_year,
        )
        return pb.CreateCycleResponse(cycle=cycle_pb(cycle))

    async def GetCycle(self, request: pb.GetCycleRequest, context: Context) -> pb.GetCycleResponse:
        self._check_cycle_id(request.cycle_id)
        view = await cycles.get_cycle(
            uow=self.deps.uow, workflows=self.deps.workflows, cycle_id=request.cycle_id
        )
        return pb.GetCycleResponse(cycle=_cycle_view_pb(view))

    async def ListCycles(self, request: pb.ListCyclesRequest, context: Context) -> pb.ListCyclesResponse:
        page = self._page("ListCycles", request.page_size, request.page_token, {})
        found = await cycles.list_cycles(uow=self.deps.uow, page=page)
        return pb.ListCyclesResponse(
            cycles=[cycle_pb(c) for c in found.items],
            next_page_token=self._next_token("ListCycles", found.next_cursor, {}),
        )

    # ---------------------------------------------------------------- applications

    async def CreateApplication(
        self, request: pb.CreateApplicationRequest, context: Context
    ) -> pb.CreateApplicationResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("organization_id", request.organization_id)
        v.identifier("operator_organization_id", request.operator_organization_id)
        v.required("title", request.title) and v.max_length("title", request.title, 200)
        if v.required("service_lines", list(request.service_lines)):
            for i, line in enumerate(request.service_lines):
                v.one_of(f"service_lines[{i}]", line, applications.SERVICE_LINES)
        for i, m in enumerate(request.materials):
            v.required(f"materials[{i}].kind", m.kind)
            v.required(f"materials[{i}].filename", m.filename)
            if len(m.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in m.sha256):
                v.fail(f"materials[{i}].sha256", "must be 64 lowercase hex digits", "须为64位小写十六进制")
            v.non_negative(f"materials[{i}].size_bytes", m.size_bytes)
        v.done()
        dossier = await applications.create_application(
            uow=self.deps.uow,
            identity=self.deps.identity,
            principal=principal(),
            draft=ApplicationDraft(
                cycle_id=request.cycle_id,
                organization_id=request.organization_id,
                operator_organization_id=request.operator_organization_id,
                title=request.title,
                service_lines=list(request.service_lines),
                materials=[
                    MaterialInput(m.kind, m.filename, m.sha256, m.size_bytes) for m in request.materials
                ],
            ),
            now=now_utc(),
        )
        return pb.CreateApplicationResponse(
            application=application_pb(dossier.application, dossier.materials)
        )

    async def GetApplication(
        self, request: pb.GetApplicationRequest, context: Context
    ) -> pb.GetApplicationResponse:
        v = Check()
        v.identifier("application_id", request.application_id)
        v.done()
        dossier = await applications.get_application(
            uow=self.deps.uow, principal=principal(), application_id=request.application_id
        )
        return pb.GetApplicationResponse(application=application_pb(dossier.application, dossier.materials))

    async def ListApplications(
        self, request: pb.ListApplicationsRequest, context: Context
    ) -> pb.ListApplicationsResponse:
        query = {"cycle_id": request.cycle_id, "city_code": request.city_code, "status": request.status}
        page = self._page("ListApplications", request.page_size, request.page_token, query)
        found = await applications.list_applications(
            uow=self.deps.uow,
            principal=principal(),
            where=ApplicationFilter(
                cycle_id=request.cycle_id or None,
                city_code=request.city_code or None,
                status=PB_TO_STATUS.get(request.status),
            ),
            page=page,
        )
        return pb.ListApplicationsResponse(
            applications=[application_pb(d.application, d.materials) for d in found.items],
            next_page_token=self._next_token("ListApplications", found.next_cursor, query),
        )

    async def SubmitApplication(
        self, request: pb.SubmitApplicationRequest, context: Context
    ) -> pb.SubmitApplicationResponse:
        v = Check()
        v.identifier("application_id", request.application_id)
        v.done()
        d = request.declaration
        dossier = await applications.submit_application(
            uow=self.deps.uow,
            identity=self.deps.identity,
            principal=principal(),
            application_id=request.application_id,
            declaration=Declaration(
                signer_name=d.signer_name, signer_title=d.signer_title, accepted=d.accepted
            ),
            clock=now_utc,
        )
        return pb.SubmitApplicationResponse(
            application=application_pb(dossier.application, dossier.materials)
        )

    # ---------------------------------------------------------------- decisions (workflow updates)

    async def SignCityRecommendation(
        self, request: pb.SignCityRecommendationRequest, context: Context
    ) -> pb.SignCityRecommendationResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("city_code", request.city_code)
        v.required("document_no", request.document_no) and v.max_length(
            "document_no", request.document_no, 100
        )
        if v.required("items", list(request.items)):
            v.unique("items", [i.application_id for i in request.items])
            for i, item in enumerate(request.items):
                v.identifier(f"items[{i}].application_id", item.application_id)
                v.required(f"items[{i}].opinion", item.opinion)
        v.done()
        r = await recommendations.sign_city_recommendation(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            city_code=request.city_code,
            document_no=request.document_no,
            items=[RecommendationItem(i.application_id, i.recommended, i.opinion) for i in request.items],
        )
        return pb.SignCityRecommendationResponse(
            recommendation=pb.Recommendation(
                cycle_id=request.cycle_id,
                city_code=r.city_code,
                document_no=r.document_no,
                items=list(request.items),
                signoffs=[pb.Signoff(role=role) for role in r.signed_roles],
                complete=r.complete,
            )
        )

    async def DecideCompliance(
        self, request: pb.DecideComplianceRequest, context: Context
    ) -> pb.DecideComplianceResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if v.required("decisions", list(request.decisions)) and v.max_items(
            "decisions", request.decisions, MAX_COMPLIANCE_DECISIONS
        ):
            v.unique("decisions", [d.application_id for d in request.decisions])
            for i, d in enumerate(request.decisions):
                v.identifier(f"decisions[{i}].application_id", d.application_id)
                v.max_items(f"decisions[{i}].reasons", d.reasons, MAX_REASONS)
                for j, reason in enumerate(d.reasons):
                    v.max_length(f"decisions[{i}].reasons[{j}]", reason, MAX_REASON_CHARS)
                if not d.compliant and not [r for r in d.reasons if r.strip()]:
                    v.fail(
                        f"decisions[{i}].reasons",
                        "a non-compliant decision needs its reasons",
                        "不合规结论须说明理由",
                    )
        v.done()
        r = await decisions.decide_compliance(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            decisions=[
                ComplianceItem(d.application_id, d.compliant, list(d.reasons)) for d in request.decisions
            ],
        )
        return pb.DecideComplianceResponse(decided=r.decided, remaining=r.remaining)

    async def ConcludeExpertReview(
        self, request: pb.ConcludeExpertReviewRequest, context: Context
    ) -> pb.ConcludeExpertReviewResponse:
        self._check_cycle_id(request.cycle_id)
        version = await decisions.conclude_expert_review(
            uow=self.deps.uow, workflows=self.deps.workflows, principal=principal(), cycle_id=request.cycle_id
        )
        return pb.ConcludeExpertReviewResponse(proposal_version=version)

    @staticmethod
    def _check_proposal_decision(cycle_id: str, proposal_version: int, approve: bool, opinion: str) -> None:
        v = Check()
        v.identifier("cycle_id", cycle_id)
        v.positive("proposal_version", proposal_version)
        if not approve:
            v.required("opinion", opinion)
        v.done()

    async def DecideFinanceConcurrence(
        self, request: pb.DecideFinanceConcurrenceRequest, context: Context
    ) -> pb.DecideFinanceConcurrenceResponse:
        self._check_proposal_decision(
            request.cycle_id, request.proposal_version, request.agree, request.opinion
        )
        view = await decisions.decide_finance_concurrence(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            review=self.deps.review,
            funding=self.deps.funding,
            principal=principal(),
            cycle_id=request.cycle_id,
            proposal_version=request.proposal_version,
            agree=request.agree,
            opinion=request.opinion,
        )
        return pb.DecideFinanceConcurrenceResponse(cycle=_cycle_view_pb(view))

    async def DecidePartyGroupApproval(
        self, request: pb.DecidePartyGroupApprovalRequest, context: Context
    ) -> pb.DecidePartyGroupApprovalResponse:
        self._check_proposal_decision(
            request.cycle_id, request.proposal_version, request.approve, request.opinion
        )
        view = await decisions.decide_party_group_approval(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            proposal_version=request.proposal_version,
            approve=request.approve,
            opinion=request.opinion,
            meeting_reference=request.meeting_reference,
        )
        return pb.DecidePartyGroupApprovalResponse(cycle=_cycle_view_pb(view))

    async def ResubmitProposal(
        self, request: pb.ResubmitProposalRequest, context: Context
    ) -> pb.ResubmitProposalResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("note", request.note)
        v.done()
        view = await decisions.resubmit_proposal(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            note=request.note,
        )
        return pb.ResubmitProposalResponse(cycle=_cycle_view_pb(view))

    async def DecidePublicityOutcome(
        self, request: pb.DecidePublicityOutcomeRequest, context: Context
    ) -> pb.DecidePublicityOutcomeResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("announcement_document_no", request.announcement_document_no)
        v.done()
        view = await decisions.decide_publicity_outcome(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            announcement_document_no=request.announcement_document_no,
        )
        return pb.DecidePublicityOutcomeResponse(cycle=_cycle_view_pb(view))

    async def ConcludeSupervision(
        self, request: pb.ConcludeSupervisionRequest, context: Context
    ) -> pb.ConcludeSupervisionResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        # supervision records the summary as the conclusion (required there, at most 20000 characters)
        v.required("summary", request.summary) and v.max_length("summary", request.summary, 20000)
        v.done()
        view = await decisions.conclude_supervision(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            summary=request.summary,
        )
        return pb.ConcludeSupervisionResponse(cycle=_cycle_view_pb(view))

    async def ReviseProposal(
        self, request: pb.ReviseProposalRequest, context: Context
    ) -> pb.ReviseProposalResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("proposal_version", request.proposal_version)
        if v.required("changes", list(request.changes)):
            v.unique("changes", [c.application_id for c in request.changes])
            for i, c in enumerate(request.changes):
                v.identifier(f"changes[{i}].application_id", c.application_id)
                v.non_negative(f"changes[{i}].amount_fen", c.amount_fen)
                v.required(f"changes[{i}].reason", c.reason) and v.max_length(
                    f"changes[{i}].reason", c.reason, 2000
                )
        v.max_length("note", request.note, 2000)
        v.done()
        version, view = await decisions.revise_proposal(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            proposal_version=request.proposal_version,
            changes=[
                ProposalChange(c.application_id, c.amount_fen, c.reason, c.promote) for c in request.changes
            ],
            note=request.note,
        )
        return pb.ReviseProposalResponse(cycle=_cycle_view_pb(view), proposal_version=version)

    async def ExtendDeadline(
        self, request: pb.ExtendDeadlineRequest, context: Context
    ) -> pb.ExtendDeadlineResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        phase = PB_TO_PHASE.get(request.phase)
        if v.enum_set("phase", request.phase, PB_TO_PHASE) and phase not in decisions.EXTENDABLE:
            v.fail(
                "phase",
                f"must be one of {', '.join(decisions.EXTENDABLE)} (a phase with a deadline)",
                f"须为有截止时间的阶段：{'、'.join(decisions.EXTENDABLE)}",
            )
        new_deadline = v.timestamp("new_deadline", request.new_deadline, required=True)
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 2000)
        v.done()
        view = await decisions.extend_deadline(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            phase=present(phase, "phase"),
            new_deadline=present(new_deadline, "new_deadline"),
            reason=request.reason,
            now=now_utc(),
        )
        return pb.ExtendDeadlineResponse(cycle=_cycle_view_pb(view))

    async def ResumeCycle(self, request: pb.ResumeCycleRequest, context: Context) -> pb.ResumeCycleResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("note", request.note) and v.max_length("note", request.note, 2000)
        v.done()
        view = await decisions.resume_cycle(
            uow=self.deps.uow,
            workflows=self.deps.workflows,
            principal=principal(),
            cycle_id=request.cycle_id,
            note=request.note,
        )
        return pb.ResumeCycleResponse(cycle=_cycle_view_pb(view))

    # ---------------------------------------------------------------- the workflow's activities

    async def RecordCyclePhase(
        self, request: pb.RecordCyclePhaseRequest, context: Context
    ) -> pb.RecordCyclePhaseResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.enum_set("phase", request.phase, PB_TO_PHASE)
        v.done()
        await workflow_records.record_cycle_phase(
            uow=self.deps.uow,
            cycle_id=request.cycle_id,
            phase=PB_TO_PHASE[request.phase],
            note=request.note,
            proposal_version=request.proposal_version,
        )
        return pb.RecordCyclePhaseResponse()

    async def CloseApplicationWindow(
        self, request: pb.CloseApplicationWindowRequest, context: Context
    ) -> pb.CloseApplicationWindowResponse:
        self._check_cycle_id(request.cycle_id)
        by_city = await workflow_records.close_application_window(
            uow=self.deps.uow, cycle_id=request.cycle_id
        )
        return pb.CloseApplicationWindowResponse(
            cities=[pb.CitySubmissions(city_code=c, submitted=n) for c, n in by_city.items()],
            total=sum(by_city.values()),
        )

    @staticmethod
    def _check_recommendation(r: pb.Recommendation) -> None:
        v = Check()
        v.identifier("recommendation.cycle_id", r.cycle_id)
        v.required("recommendation.city_code", r.city_code)
        v.required("recommendation.document_no", r.document_no)
        if len({s.role for s in r.signoffs}) != 2 or not {s.role for s in r.signoffs} <= set(CITY_ROLES):
            v.fail(
                "recommendation.signoffs",
                "needs the sign-offs of city industry and city finance",
                "须有市工信局和市财政局共同签署",
            )
        for i, s in enumerate(r.signoffs):
            v.timestamp(f"recommendation.signoffs[{i}].signed_at", s.signed_at)
        for i, item in enumerate(r.items):
            roles = [o.role for o in item.opinions]
            if len(set(roles)) != len(roles) or not set(roles) <= set(CITY_ROLES):
                v.fail(
                    f"recommendation.items[{i}].opinions",
                    "at most one opinion of each city bureau",
                    "每个市级部门至多一条意见",
                )
        v.done()

    async def RecordRecommendation(
        self, request: pb.RecordRecommendationRequest, context: Context
    ) -> pb.RecordRecommendationResponse:
        r = request.recommendation
        self._check_recommendation(r)
        recorded = await recommendations.record_recommendation(
            uow=self.deps.uow,
            cycle_id=r.cycle_id,
            city_code=r.city_code,
            document_no=r.document_no,
            items=[
                RecommendationLine(
                    i.application_id,
                    i.recommended,
                    i.opinion,
                    tuple(BureauOpinion(o.role, o.opinion) for o in i.opinions),
                )
                for i in r.items
            ],
            signoffs=[
                Signoff(x.role, x.user_id, x.display_name, x.signed_at.ToJsonString()) for x in r.signoffs
            ],
            now=now_utc(),
        )
        return pb.RecordRecommendationResponse(recommended=recorded.recommended)

    async def RecordCycleDecision(
        self, request: pb.RecordCycleDecisionRequest, context: Context
    ) -> pb.RecordCycleDecisionResponse:
        d = request.decision
        v = Check()
        v.identifier("decision.cycle_id", d.cycle_id)
        v.enum_set("decision.kind", d.kind, PB_TO_KIND)
        v.required("idempotency_key", request.idempotency_key) and v.max_length(
            "idempotency_key", request.idempotency_key, 200
        )
        v.max_length("decision.reference", d.reference, 200)
        v.non_negative("decision.proposal_version", d.proposal_version)
        decided_at = v.timestamp("decision.decided_at", d.decided_at)
        v.done()
        now = now_utc()
        recorded = await workflow_records.record_cycle_decision(
            uow=self.deps.uow,
            decision=CycleDecision(
                decision_id="",
                cycle_id=d.cycle_id,
                kind=PB_TO_KIND[d.kind],
                idempotency_key=request.idempotency_key,
                actor_user_id=d.actor_user_id,
                actor_name=d.actor_name,
                role=d.role,
                proposal_version=d.proposal_version,
                approve=d.approve,
                opinion=d.opinion,
                reference=d.reference,
                decided_at=decided_at or now,
                details=dict(d.details),
                recorded_at=now,
            ),
            now=now,
        )
        return pb.RecordCycleDecisionResponse(decision=decision_pb(recorded))

    async def RecordApplicationOutcomes(
        self, request: pb.RecordApplicationOutcomesRequest, context: Context
    ) -> pb.RecordApplicationOutcomesResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.enum_set("stage", request.stage, STAGES)
        v.non_negative("proposal_version", request.proposal_version)
        v.done()
        updated = await outcomes.record_application_outcomes(
            uow=self.deps.uow,
            review=self.deps.review,
            funding=self.deps.funding,
            cycle_id=request.cycle_id,
            stage=STAGES[request.stage],
            proposal_version=request.proposal_version,
            now=now_utc(),
        )
        return pb.RecordApplicationOutcomesResponse(updated=updated)

    # ---------------------------------------------------------------- the records of a year

    async def ListRecommendations(
        self, request: pb.ListRecommendationsRequest, context: Context
    ) -> pb.ListRecommendationsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.city_code("city_code", request.city_code, required=False)
        v.done()
        query = {"cycle_id": request.cycle_id, "city_code": request.city_code}
        page = self._page("ListRecommendations", request.page_size, request.page_token, query)
        found = await recommendations.list_recommendations(
            uow=self.deps.uow,
            principal=principal(),
            cycle_id=request.cycle_id,
            city_code=request.city_code or None,
            page=page,
        )
        return pb.ListRecommendationsResponse(
            recommendations=[recommendation_pb(r) for r in found.items],
            next_page_token=self._next_token("ListRecommendations", found.next_cursor, query),
        )

    async def ListCycleDecisions(
        self, request: pb.ListCycleDecisionsRequest, context: Context
    ) -> pb.ListCycleDecisionsResponse:
        self._check_cycle_id(request.cycle_id)
        query = {"cycle_id": request.cycle_id}
        page = self._page("ListCycleDecisions", request.page_size, request.page_token, query)
        found = await workflow_records.list_cycle_decisions(
            uow=self.deps.uow, cycle_id=request.cycle_id, page=page
        )
        return pb.ListCycleDecisionsResponse(
            decisions=[decision_pb(d) for d in found.items],
            next_page_token=self._next_token("ListCycleDecisions", found.next_cursor, query),
        )

    async def GetCyclePolicy(
        self, request: pb.GetCyclePolicyRequest, context: Context
    ) -> pb.GetCyclePolicyResponse:
        self._check_cycle_id(request.cycle_id)
        c = await cycles.get_cycle_policy(uow=self.deps.uow, cycle_id=request.cycle_id)
        return pb.GetCyclePolicyResponse(
            cycle_id=c.cycle_id,
            policy_id=c.policy_id,
            policy_version=c.policy_version,
            policy_sha256=c.policy_sha256,
            policy_json=c.policy_json,
        )
