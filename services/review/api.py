"""ReviewService: request validation and proto ⇄ domain mapping; the use cases are in
``services/review/domain``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

import grpc

from aicc.platform.auth import principal
from aicc.platform.clock import beijing_date, now_utc
from aicc.platform.convert import ts
from aicc.platform.crypto import FieldCipher
from aicc.platform.errors import present
from aicc.platform.pagination import PageRequest, PageTokens, page_size
from aicc.platform.validation import Check
from aicc.review.v1 import review_pb2 as pb
from aicc.review.v1 import review_pb2_grpc
from services.review.domain import (
    assignments,
    compliance,
    documents,
    export_files,
    on_site,
    proposals,
    publicity,
    sheets,
)
from services.review.domain.documents import DocumentKind
from services.review.domain.model import (
    Announcement,
    AssignmentStatus,
    AssignmentView,
    Candidate,
    ComplianceReview,
    Exclusion,
    Material,
    Objection,
    ObjectionStatus,
    OnSiteKind,
    OnSiteReview,
    Proposal,
    ScoreSheet,
)
from services.review.domain.ports import ExpertRegistry, IntakeApplications, ReviewUnitOfWork

Context = grpc.aio.ServicerContext

TIER_TO_PB = {"excellent": pb.TIER_EXCELLENT, "advanced": pb.TIER_ADVANCED, "none": pb.TIER_NONE}
STATUS_TO_PB = {
    AssignmentStatus.PENDING_DECLARATION: pb.ASSIGNMENT_STATUS_PENDING_DECLARATION,
    AssignmentStatus.ACCEPTED: pb.ASSIGNMENT_STATUS_ACCEPTED,
    AssignmentStatus.RECUSED: pb.ASSIGNMENT_STATUS_RECUSED,
    AssignmentStatus.SCORED: pb.ASSIGNMENT_STATUS_SCORED,
}
OBJECTION_TO_PB = {
    ObjectionStatus.UNDER_INVESTIGATION: pb.OBJECTION_STATUS_UNDER_INVESTIGATION,
    ObjectionStatus.UPHELD: pb.OBJECTION_STATUS_UPHELD,
    ObjectionStatus.DISMISSED: pb.OBJECTION_STATUS_DISMISSED,
}
ON_SITE_TO_PB = {
    OnSiteKind.DEFENCE: pb.ON_SITE_REVIEW_KIND_DEFENCE,
    OnSiteKind.SITE_VISIT: pb.ON_SITE_REVIEW_KIND_SITE_VISIT,
}
ON_SITE_FROM_PB = {v: k for k, v in ON_SITE_TO_PB.items()}
EXPORTERS: dict[int, tuple[Callable[[export_files.OfficialDocument], bytes], str, str]] = {
    pb.EXPORT_FORMAT_XLSX: (export_files.document_xlsx, "xlsx", export_files.XLSX_MEDIA_TYPE),
    pb.EXPORT_FORMAT_PDF: (export_files.document_pdf, "pdf", export_files.PDF_MEDIA_TYPE),
}
DOCUMENT_KINDS = {
    pb.DOCUMENT_KIND_PROPOSAL: DocumentKind.PROPOSAL,
    pb.DOCUMENT_KIND_PUBLICITY_NOTICE: DocumentKind.PUBLICITY_NOTICE,
    pb.DOCUMENT_KIND_ANNOUNCEMENT: DocumentKind.ANNOUNCEMENT,
}
TWO = Decimal("0.01")


def _two(value: str) -> str:
    return str(Decimal(value).quantize(TWO)) if value not in (None, "") else ""


def assignment_pb(v: AssignmentView) -> pb.Assignment:
    a = v.assignment
    return pb.Assignment(
        assignment_id=a.assignment_id,
        cycle_id=a.cycle_id,
        application_id=a.application_id,
        expert_user_id=a.expert_user_id,
        status=STATUS_TO_PB[a.status],
        enterprise_name=v.enterprise_name,
    )


def exclusion_pb(x: Exclusion) -> pb.ExclusionRecord:
    return pb.ExclusionRecord(
        application_id=x.application_id, expert_user_id=x.expert_user_id, reason=x.reason
    )


def review_pb(r: ComplianceReview) -> pb.ComplianceReview:
    return pb.ComplianceReview(
        application_id=r.application_id,
        compliant=r.compliant,
        reasons=list(r.reasons),
        decided_by=r.decided_by,
        decided_at=ts(r.decided_at),
    )


def sheet_pb(s: ScoreSheet) -> pb.ScoreSheet:
    return pb.ScoreSheet(
        sheet_id=s.sheet_id,
        assignment_id=s.assignment_id,
        application_id=s.application_id,
        expert_user_id=s.expert_user_id,
        scores=[
            pb.IndicatorScore(
                indicator_id=x["indicator_id"], points=x["points"], justification=x["justification"]
            )
            for x in s.scores
        ],
        total=s.total,
        version=s.version,
        correction_reason=s.correction_reason,
        submitted_at=ts(s.submitted_at),
    )


def line_pb(x: Mapping[str, Any]) -> pb.ProposalLine:
    return pb.ProposalLine(
        application_id=x["application_id"],
        organization_id=x.get("organization_id", ""),
        enterprise_name=x.get("enterprise", ""),
        city_code=x.get("city", ""),
        rank=x.get("rank", 0),
        final_score=_two(x.get("final_score", "")),
        dimension_scores=[
            pb.DimensionScore(dimension=d, score=_two(s))
            for d, s in sorted((x.get("dimension_scores") or {}).items(), key=lambda kv: kv[0])
        ],
        tier=TIER_TO_PB.get(x.get("tier", "none"), pb.TIER_UNSPECIFIED),
        amount_fen=x.get("amount_fen", 0),
        reserve=x.get("reserve", False),
        reason=x.get("reason", ""),
        budget_left_fen=x.get("budget_left_fen", 0),
        flagged_experts=list(x.get("flagged_experts") or []),
        tie_break=x.get("tie_break") or "",
        uscc=x.get("uscc", ""),
        cap_fen=x.get("cap_fen", 0),
        revision_reason=x.get("revision_reason", ""),
        flagged_expert_names=list(x.get("flagged_expert_names") or []),
    )


def proposal_pb(p: Proposal) -> pb.Proposal:
    return pb.Proposal(
        cycle_id=p.cycle_id,
        version=p.version,
        lines=[line_pb(x) for x in p.lines],
        budget_fen=p.budget_fen,
        allocated_fen=p.allocated_fen,
        reason=p.reason,
        created_at=ts(p.created_at),
        basis=p.basis,
        previous_version=p.previous_version,
        reserve_count=p.reserve_count(),
    )


def announcement_pb(a: Announcement) -> pb.Announcement:
    return pb.Announcement(
        cycle_id=a.cycle_id,
        proposal_version=a.proposal_version,
        document_no=a.document_no,
        announced_at=ts(a.announced_at),
        announced_by=a.announced_by,
        lines=[line_pb(x) for x in a.lines],
    )


def notice_pb(v: publicity.NoticeView) -> pb.PublicityNotice:
    n = v.notice
    return pb.PublicityNotice(
        cycle_id=n.cycle_id,
        proposal_version=n.proposal_version,
        starts_at=ts(n.starts_at),
        ends_at=ts(n.ends_at),
        published_where=n.published_where,
        closed=n.closed_at is not None,
        changed=n.changed,
        objections=v.objections,
        closed_at=ts(n.closed_at),
        result_version=n.result_version or 0,
    )


def material_pb(m: Material) -> pb.Material:
    return pb.Material(
        material_id=m.material_id, kind=m.kind, filename=m.filename, sha256=m.sha256, size_bytes=m.size_bytes
    )


def objection_pb(o: Objection, contact: str) -> pb.Objection:
    """``contact``: the objector's contact as the caller may see it
    (:func:`publicity.objector_contact_for`), never the stored ciphertext."""
    return pb.Objection(
        objection_id=o.objection_id,
        cycle_id=o.cycle_id,
        application_id=o.application_id,
        objector_name=o.objector_name,
        objector_contact=contact,
        content=o.content,
        status=OBJECTION_TO_PB[o.status],
        findings=o.findings,
        filed_at=ts(o.filed_at),
        investigator=o.investigator,
        evidence=list(o.evidence),
        reply_to_objector=o.reply_to_objector,
        reply_to_applicant=o.reply_to_applicant,
        investigated_on=o.investigated_on,
        concluded_at=ts(o.decided_at),
    )


def on_site_pb(r: OnSiteReview) -> pb.OnSiteReview:
    return pb.OnSiteReview(
        on_site_review_id=r.on_site_review_id,
        cycle_id=r.cycle_id,
        application_id=r.application_id,
        kind=ON_SITE_TO_PB[r.kind],
        held_on=r.held_on,
        participants=list(r.participants),
        findings=r.findings,
        recorded_by=r.recorded_by,
        recorded_at=ts(r.recorded_at),
    )


class PagedRequest(Protocol):
    @property
    def page_size(self) -> int: ...

    @property
    def page_token(self) -> str: ...


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    def __init__(
        self,
        *,
        uow: ReviewUnitOfWork,
        experts: ExpertRegistry,
        intake: IntakeApplications,
        cipher: FieldCipher,
        tokens: PageTokens,
    ) -> None:
        self.uow = uow
        self.experts = experts  # identity's expert pool
        self.intake = intake  # intake's recommended applications
        self.cipher = cipher  # SM4-GCM for objectors' contacts at rest
        self.tokens = tokens

    def _objection_pb(self, o: Objection) -> pb.Objection:
        return objection_pb(o, publicity.objector_contact_for(principal(), o, self.cipher))

    def _page(self, rpc: str, request: PagedRequest, query: Mapping[str, object]) -> PageRequest:
        """The page a list request asks for; its token must be this caller's, for this filter."""
        size = page_size(request.page_size)
        return self.tokens.read(
            request.page_token, caller=principal().user_id, rpc=rpc, query=query, size=size
        )

    def _next(self, rpc: str, cursor: list[object] | None, query: Mapping[str, object]) -> str:
        return self.tokens.issue(cursor, caller=principal().user_id, rpc=rpc, query=query)

    # ------------------------------------------------------------------ workflow (system)

    async def OpenReview(self, request: pb.OpenReviewRequest, context: Context) -> pb.OpenReviewResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("policy_json", request.policy_json)
        candidates = []
        for i, c in enumerate(request.candidates):
            f = f"candidates[{i}]"
            v.identifier(f"{f}.application_id", c.application_id)
            v.identifier(f"{f}.organization_id", c.organization_id)
            if c.operator_organization_id:
                v.identifier(f"{f}.operator_organization_id", c.operator_organization_id)
            v.required(f"{f}.enterprise_name", c.enterprise_name) and v.max_length(
                f"{f}.enterprise_name", c.enterprise_name, 200
            )
            v.required(f"{f}.city_code", c.city_code)
            submitted = v.timestamp(f"{f}.submitted_at", c.submitted_at, required=True)
            v.max_length(f"{f}.title", c.title, 200)
            for j, m in enumerate(c.materials):
                g = f"{f}.materials[{j}]"
                v.required(f"{g}.material_id", m.material_id) and v.max_length(
                    f"{g}.material_id", m.material_id, 64
                )
                v.required(f"{g}.kind", m.kind) and v.max_length(f"{g}.kind", m.kind, 64)
                v.required(f"{g}.filename", m.filename) and v.max_length(f"{g}.filename", m.filename, 255)
                v.max_length(f"{g}.sha256", m.sha256, 64)
                v.non_negative(f"{g}.size_bytes", m.size_bytes)
            if submitted is not None:
                candidates.append(
                    Candidate(
                        cycle_id=request.cycle_id,
                        application_id=c.application_id,
                        organization_id=c.organization_id,
                        operator_organization_id=c.operator_organization_id or "",
                        enterprise_name=c.enterprise_name,
                        city_code=c.city_code,
                        submitted_at=submitted,
                        title=c.title or "",
                        materials=[
                            Material(m.material_id, m.kind, m.filename, m.sha256, m.size_bytes)
                            for m in c.materials
                        ],
                    )
                )
        v.unique("candidates.application_id", [c.application_id for c in request.candidates])
        v.done()
        n = await compliance.open_review(
            self.uow,
            self.intake,
            cycle_id=request.cycle_id,
            policy_json=request.policy_json,
            candidates=candidates,
            now=now_utc(),
        )
        return pb.OpenReviewResponse(candidates=n)

    async def RecordComplianceDecisions(
        self, request: pb.RecordComplianceDecisionsRequest, context: Context
    ) -> pb.RecordComplianceDecisionsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        decisions = []
        for i, d in enumerate(request.decisions):
            f = f"decisions[{i}]"
            v.identifier(f"{f}.application_id", d.application_id)
            v.required(f"{f}.decided_by", d.decided_by)
            if not d.compliant and not [r for r in d.reasons if r.strip()]:
                v.fail(f"{f}.reasons", "a non-compliant decision needs its reasons", "不合规结论须说明理由")
            decisions.append(
                compliance.DecisionIn(
                    d.application_id,
                    d.compliant,
                    list(d.reasons),
                    d.decided_by,
                    v.timestamp(f"{f}.decided_at", d.decided_at),
                )
            )
        v.unique("decisions.application_id", [d.application_id for d in request.decisions])
        v.done()
        counts = await compliance.record_compliance(
            self.uow, cycle_id=request.cycle_id, decisions=decisions, now=now_utc()
        )
        return pb.RecordComplianceDecisionsResponse(
            decided=counts.decided, remaining=counts.remaining, compliant=counts.compliant
        )

    async def ListComplianceReviews(
        self, request: pb.ListComplianceReviewsRequest, context: Context
    ) -> pb.ListComplianceReviewsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc, query = "ListComplianceReviews", {"cycle_id": request.cycle_id}
        found = await compliance.compliance_reviews(
            self.uow, cycle_id=request.cycle_id, page=self._page(rpc, request, query)
        )
        return pb.ListComplianceReviewsResponse(
            reviews=[review_pb(r) for r in found.items],
            next_page_token=self._next(rpc, found.next_cursor, query),
        )

    async def GetPanelDraw(
        self, request: pb.GetPanelDrawRequest, context: Context
    ) -> pb.GetPanelDrawResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        view = await assignments.get_draw(self.uow, cycle_id=request.cycle_id)
        return pb.GetPanelDrawResponse(
            seed=view.seed,
            assignments=[assignment_pb(a) for a in view.assignments],
            exclusions=[exclusion_pb(x) for x in view.exclusions],
        )

    async def DrawPanels(self, request: pb.DrawPanelsRequest, context: Context) -> pb.DrawPanelsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        view = await assignments.draw_panels(
            self.uow, self.experts, cycle_id=request.cycle_id, seed=request.seed, now=now_utc()
        )
        return pb.DrawPanelsResponse(
            assignments=[assignment_pb(a) for a in view.assignments],
            exclusions=[exclusion_pb(x) for x in view.exclusions],
            seed=view.seed,
        )

    async def ComputeProposal(
        self, request: pb.ComputeProposalRequest, context: Context
    ) -> pb.ComputeProposalResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.non_negative("budget_fen", request.budget_fen)
        v.done()
        proposal = await proposals.compute_proposal(
            self.uow, self.experts, cycle_id=request.cycle_id, budget_fen=request.budget_fen, now=now_utc()
        )
        return pb.ComputeProposalResponse(proposal=proposal_pb(proposal))

    async def OpenPublicity(
        self, request: pb.OpenPublicityRequest, context: Context
    ) -> pb.OpenPublicityResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.non_negative("proposal_version", request.proposal_version)
        ends_at = v.timestamp("ends_at", request.ends_at, required=True)
        v.max_length("published_where", request.published_where, 200)
        v.done()
        await publicity.open_publicity(
            self.uow,
            cycle_id=request.cycle_id,
            proposal_version=request.proposal_version,
            ends_at=present(ends_at, "ends_at"),
            published_where=request.published_where.strip(),
            now=now_utc(),
        )
        return pb.OpenPublicityResponse()

    async def ClosePublicity(
        self, request: pb.ClosePublicityRequest, context: Context
    ) -> pb.ClosePublicityResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        closed = await publicity.close_publicity(self.uow, cycle_id=request.cycle_id, now=now_utc())
        return pb.ClosePublicityResponse(proposal=proposal_pb(closed.proposal), changed=closed.changed)

    async def ReviseProposal(
        self, request: pb.ReviseProposalRequest, context: Context
    ) -> pb.ReviseProposalResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("base_version", request.base_version)
        changes = []
        if v.required("changes", list(request.changes)):
            for i, c in enumerate(request.changes):
                f = f"changes[{i}]"
                v.identifier(f"{f}.application_id", c.application_id)
                v.non_negative(f"{f}.amount_fen", c.amount_fen)
                v.required(f"{f}.reason", c.reason) and v.max_length(f"{f}.reason", c.reason, 2000)
                changes.append(
                    proposals.ChangeIn(c.application_id, c.amount_fen, c.reason.strip(), c.promote)
                )
            v.unique("changes.application_id", [c.application_id for c in request.changes])
        v.max_length("note", request.note, 2000)
        v.required("decided_by", request.decided_by) and v.max_length("decided_by", request.decided_by, 128)
        v.done()
        proposal = await proposals.revise_proposal(
            self.uow,
            cycle_id=request.cycle_id,
            base_version=request.base_version,
            changes=changes,
            note=request.note.strip(),
            decided_by=request.decided_by,
            now=now_utc(),
        )
        return pb.ReviseProposalResponse(proposal=proposal_pb(proposal))

    async def RecordAnnouncement(
        self, request: pb.RecordAnnouncementRequest, context: Context
    ) -> pb.RecordAnnouncementResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.non_negative("proposal_version", request.proposal_version)
        v.required("document_no", request.document_no) and v.max_length(
            "document_no", request.document_no, 100
        )
        v.required("announced_by", request.announced_by) and v.max_length(
            "announced_by", request.announced_by, 128
        )
        v.done()
        announcement = await publicity.record_announcement(
            self.uow,
            cycle_id=request.cycle_id,
            proposal_version=request.proposal_version,
            document_no=request.document_no.strip(),
            announced_by=request.announced_by,
            now=now_utc(),
        )
        return pb.RecordAnnouncementResponse(announcement=announcement_pb(announcement))

    # ------------------------------------------------------------------ experts

    async def ListAssignments(
        self, request: pb.ListAssignmentsRequest, context: Context
    ) -> pb.ListAssignmentsResponse:
        rpc = "ListAssignments"
        query = {"cycle_id": request.cycle_id, "expert_user_id": request.expert_user_id}
        found = await assignments.list_assignments(
            self.uow,
            principal(),
            cycle_id=request.cycle_id,
            expert_user_id=request.expert_user_id,
            page=self._page(rpc, request, query),
        )
        return pb.ListAssignmentsResponse(
            assignments=[assignment_pb(a) for a in found.items],
            next_page_token=self._next(rpc, found.next_cursor, query),
        )

    async def DeclareConflict(
        self, request: pb.DeclareConflictRequest, context: Context
    ) -> pb.DeclareConflictResponse:
        v = Check()
        v.identifier("assignment_id", request.assignment_id)
        v.max_length("statement", request.statement, 2000)
        v.done()
        a, replacement = await assignments.declare_conflict(
            self.uow,
            principal(),
            assignment_id=request.assignment_id,
            has_conflict=request.has_conflict,
            statement=request.statement,
            now=now_utc(),
        )
        return pb.DeclareConflictResponse(
            assignment=assignment_pb(a), replacement=assignment_pb(replacement) if replacement else None
        )

    async def GetAssignmentMaterials(
        self, request: pb.GetAssignmentMaterialsRequest, context: Context
    ) -> pb.GetAssignmentMaterialsResponse:
        v = Check()
        v.identifier("assignment_id", request.assignment_id)
        v.done()
        view = await assignments.assignment_materials(
            self.uow, principal(), assignment_id=request.assignment_id
        )
        return pb.GetAssignmentMaterialsResponse(
            application_id=view.application_id,
            enterprise_name=view.enterprise_name,
            title=view.title,
            materials=[material_pb(m) for m in view.materials],
        )

    async def SubmitScoreSheet(
        self, request: pb.SubmitScoreSheetRequest, context: Context
    ) -> pb.SubmitScoreSheetResponse:
        v = Check()
        v.identifier("assignment_id", request.assignment_id)
        scores = []
        if v.required("scores", list(request.scores)):
            for i, sc in enumerate(request.scores):
                v.required(f"scores[{i}].indicator_id", sc.indicator_id)
                v.max_length(f"scores[{i}].justification", sc.justification, 2000)
                points = None
                if v.required(f"scores[{i}].points", sc.points):
                    points = v.decimal(f"scores[{i}].points", sc.points.strip(), places=2)
                if points is not None:
                    scores.append(sheets.ScoreIn(sc.indicator_id, points, sc.justification.strip()))
            v.unique("scores.indicator_id", [sc.indicator_id for sc in request.scores])
        v.max_length("correction_reason", request.correction_reason, 2000)
        v.done()
        sheet = await sheets.submit_score_sheet(
            self.uow,
            principal(),
            assignment_id=request.assignment_id,
            scores=scores,
            correction_reason=request.correction_reason,
            now=now_utc(),
        )
        return pb.SubmitScoreSheetResponse(sheet=sheet_pb(sheet))

    # ------------------------------------------------------------------ province

    async def GetProposal(self, request: pb.GetProposalRequest, context: Context) -> pb.GetProposalResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.non_negative("version", request.version)
        v.done()
        proposal = await proposals.get_proposal(self.uow, cycle_id=request.cycle_id, version=request.version)
        return pb.GetProposalResponse(proposal=proposal_pb(proposal))

    async def _export(
        self, kind: DocumentKind, cycle_id: str, version: int, fmt: int
    ) -> tuple[bytes, str, str]:
        """(content, filename, media type) of an official document in the asked format."""
        found = await documents.document(
            self.uow, kind=kind, cycle_id=cycle_id, version=version, generated_at=now_utc()
        )
        render, ext, media_type = EXPORTERS[fmt]
        content = await asyncio.to_thread(render, found.content)  # layout is CPU work: off the event loop
        return content, f"{found.content.filename_stem}.{ext}", media_type

    @staticmethod
    def _check_export(v: Check, cycle_id: str, version: int, fmt: int) -> None:
        v.identifier("cycle_id", cycle_id)
        v.non_negative("version", version)
        if fmt not in EXPORTERS:
            v.fail("format", "must be EXPORT_FORMAT_XLSX or EXPORT_FORMAT_PDF", "须为 XLSX 或 PDF")

    async def ExportProposal(
        self, request: pb.ExportProposalRequest, context: Context
    ) -> pb.ExportProposalResponse:
        v = Check()
        self._check_export(v, request.cycle_id, request.version, request.format)
        v.done()
        content, filename, media_type = await self._export(
            DocumentKind.PROPOSAL, request.cycle_id, request.version, request.format
        )
        return pb.ExportProposalResponse(content=content, filename=filename, media_type=media_type)

    async def ExportDocument(
        self, request: pb.ExportDocumentRequest, context: Context
    ) -> pb.ExportDocumentResponse:
        v = Check()
        self._check_export(v, request.cycle_id, request.version, request.format)
        if request.kind not in DOCUMENT_KINDS:
            v.fail("kind", "must be PROPOSAL, PUBLICITY_NOTICE or ANNOUNCEMENT", "须为拟支持名单、公示或公布")
        v.done()
        content, filename, media_type = await self._export(
            DOCUMENT_KINDS[request.kind], request.cycle_id, request.version, request.format
        )
        return pb.ExportDocumentResponse(content=content, filename=filename, media_type=media_type)

    async def ListPublicityNotices(
        self, request: pb.ListPublicityNoticesRequest, context: Context
    ) -> pb.ListPublicityNoticesResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc, query = "ListPublicityNotices", {"cycle_id": request.cycle_id}
        found = await publicity.notices(
            self.uow, cycle_id=request.cycle_id, page=self._page(rpc, request, query)
        )
        return pb.ListPublicityNoticesResponse(
            notices=[notice_pb(n) for n in found.items],
            next_page_token=self._next(rpc, found.next_cursor, query),
        )

    async def GetAnnouncement(
        self, request: pb.GetAnnouncementRequest, context: Context
    ) -> pb.GetAnnouncementResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        announcement = await publicity.get_announcement(self.uow, cycle_id=request.cycle_id)
        return pb.GetAnnouncementResponse(announcement=announcement_pb(announcement))

    # ------------------------------------------------------------------ publicity

    async def FileObjection(
        self, request: pb.FileObjectionRequest, context: Context
    ) -> pb.FileObjectionResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        # Real name and contact: anonymous objections are refused (Art. 10).
        v.required("objector_name", request.objector_name) and v.max_length(
            "objector_name", request.objector_name, 100
        )
        v.required("objector_contact", request.objector_contact) and v.max_length(
            "objector_contact", request.objector_contact, 200
        )
        v.required("content", request.content) and v.max_length("content", request.content, 10000)
        v.done()
        objection = await publicity.file_objection(
            self.uow,
            principal(),
            self.cipher,
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            objector_name=request.objector_name,
            objector_contact=request.objector_contact,
            content=request.content,
            now=now_utc(),
        )
        return pb.FileObjectionResponse(objection=self._objection_pb(objection))

    async def RecordInvestigation(
        self, request: pb.RecordInvestigationRequest, context: Context
    ) -> pb.RecordInvestigationResponse:
        v = Check()
        v.identifier("objection_id", request.objection_id)
        v.required("findings", request.findings) and v.max_length("findings", request.findings, 10000)
        v.required("investigator", request.investigator) and v.max_length(
            "investigator", request.investigator, 200
        )
        evidence = [x.strip() for x in request.evidence]
        for i, x in enumerate(evidence):
            v.required(f"evidence[{i}]", x) and v.max_length(f"evidence[{i}]", x, 2000)
        if len(evidence) > 100:
            v.fail("evidence", "must list at most 100 items", "不得超过100项")
        for name in ("reply_to_objector", "reply_to_applicant"):
            value = getattr(request, name)
            v.required(name, value) and v.max_length(name, value, 10000)
        on = v.iso_date("investigated_on", request.investigated_on)
        if on is not None and on > beijing_date(now_utc()):
            v.fail("investigated_on", "must not be in the future", "不得晚于今天")
        v.done()
        objection, proposal = await publicity.record_investigation(
            self.uow,
            principal(),
            objection_id=request.objection_id,
            investigation=publicity.Investigation(
                upheld=request.upheld,
                findings=request.findings,
                investigator=request.investigator.strip(),
                evidence=evidence,
                reply_to_objector=request.reply_to_objector,
                reply_to_applicant=request.reply_to_applicant,
                investigated_on=present(on, "investigated_on").isoformat(),
            ),
            now=now_utc(),
        )
        return pb.RecordInvestigationResponse(
            objection=self._objection_pb(objection), proposal=proposal_pb(proposal) if proposal else None
        )

    async def ListObjections(
        self, request: pb.ListObjectionsRequest, context: Context
    ) -> pb.ListObjectionsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        rpc, query = "ListObjections", {"cycle_id": request.cycle_id}
        found = await publicity.objections(
            self.uow, cycle_id=request.cycle_id, page=self._page(rpc, request, query)
        )
        return pb.ListObjectionsResponse(
            objections=[self._objection_pb(o) for o in found.items],
            next_page_token=self._next(rpc, found.next_cursor, query),
        )

    # ------------------------------------------------------------------ on-site reviews (Art. 9)

    async def RecordOnSiteReview(
        self, request: pb.RecordOnSiteReviewRequest, context: Context
    ) -> pb.RecordOnSiteReviewResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("application_id", request.application_id)
        if request.kind not in ON_SITE_FROM_PB:
            v.fail("kind", "must be DEFENCE or SITE_VISIT", "须为现场答辩或现场核查")
        held_on = v.iso_date("held_on", request.held_on)
        if held_on is not None and held_on > beijing_date(now_utc()):
            v.fail("held_on", "must not be in the future", "不得晚于今天")
        participants = [x.strip() for x in request.participants]
        if v.required("participants", participants):
            for i, x in enumerate(participants):
                v.required(f"participants[{i}]", x) and v.max_length(f"participants[{i}]", x, 200)
            if len(participants) > 100:
                v.fail("participants", "must list at most 100 people", "不得超过100人")
        v.required("findings", request.findings) and v.max_length("findings", request.findings, 20000)
        v.done()
        review = await on_site.record_on_site_review(
            self.uow,
            principal(),
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            kind=ON_SITE_FROM_PB[request.kind],
            held_on=present(held_on, "held_on"),
            participants=participants,
            findings=request.findings,
            now=now_utc(),
        )
        return pb.RecordOnSiteReviewResponse(on_site_review=on_site_pb(review))

    async def ListOnSiteReviews(
        self, request: pb.ListOnSiteReviewsRequest, context: Context
    ) -> pb.ListOnSiteReviewsResponse:
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if request.application_id:
            v.identifier("application_id", request.application_id)
        v.done()
        rpc = "ListOnSiteReviews"
        query = {"cycle_id": request.cycle_id, "application_id": request.application_id}
        found = await on_site.on_site_reviews(
            self.uow,
            cycle_id=request.cycle_id,
            application_id=request.application_id,
            page=self._page(rpc, request, query),
        )
        return pb.ListOnSiteReviewsResponse(
            on_site_reviews=[on_site_pb(r) for r in found.items],
            next_page_token=self._next(rpc, found.next_cursor, query),
        )
