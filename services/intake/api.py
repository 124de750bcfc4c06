"""IntakeService: proto ⇄ domain only. Decisions that advance a cycle go to its workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import grpc

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as pb
from aicc.intake.v1 import intake_pb2_grpc
from aicc.platform import authz
from aicc.platform.auth import principal
from aicc.platform.clock import now_utc
from aicc.platform.convert import ts
from aicc.platform.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, not_found
from aicc.platform.ids import new_id
from aicc.platform.policy import PolicyError, PolicyNotFound, find_policy, load_policy_text
from aicc.platform.server import Runtime
from aicc.platform.validation import Check
from services.intake.domain import applications as apps
from services.intake.domain import cycles
from services.intake.gateway import CycleGateway
from services.intake.store import ApplicationRow, CycleRow, IntakeStore, MaterialRow, RecommendationRow
from workflows.cycle import models as wf

STATUS_TO_PB = {
    "DRAFT": pb.APPLICATION_STATUS_DRAFT,
    "SUBMITTED": pb.APPLICATION_STATUS_SUBMITTED,
    "INELIGIBLE": pb.APPLICATION_STATUS_INELIGIBLE,
    "RECOMMENDED": pb.APPLICATION_STATUS_RECOMMENDED,
    "NOT_RECOMMENDED": pb.APPLICATION_STATUS_NOT_RECOMMENDED,
}
PB_TO_STATUS = {v: k for k, v in STATUS_TO_PB.items()}


def phase_pb(phase: str) -> int:
    return pb.CyclePhase.Value(f"CYCLE_PHASE_{phase}")


def cycle_pb(c: CycleRow, status: wf.CycleStatus | None) -> pb.Cycle:
    msg = pb.Cycle(
        cycle_id=c.cycle_id,
        title=c.title,
        policy_id=c.policy_id,
        scope=c.scope,
        city_code=c.city_code,
        phase=phase_pb(status.phase if status else c.phase),
        legal_basis=list(c.legal_basis),
        applications_open_at=ts(c.applications_open_at),
        applications_close_at=ts(c.applications_close_at),
        city_review_due_at=ts(c.city_review_due_at),
        budget_fen=c.budget_fen,
        workflow_id=c.workflow_id,
        proposal_version=status.proposal_version if status else c.proposal_version,
        created_at=ts(c.created_at),
        note=status.note if status else c.note,
    )
    if status:
        msg.history.extend(
            pb.PhaseRecord(phase=phase_pb(h.phase), entered_at=ts(datetime.fromisoformat(h.at)), note=h.note)
            for h in status.history
        )
        if status.publicity_ends_at:
            msg.publicity_ends_at.CopyFrom(ts(datetime.fromisoformat(status.publicity_ends_at)))
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


def application_pb(a: ApplicationRow, materials: list[MaterialRow] = ()) -> pb.Application:
    decl = a.declaration or {}
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
            signer_name=decl.get("signer_name", ""),
            signer_title=decl.get("signer_title", ""),
            accepted=bool(decl.get("accepted")),
        )
        if decl
        else None,
        submitted_at=ts(a.submitted_at),
        eligibility_failures=[pb.EligibilityFailure(**f) for f in a.eligibility_failures or []],
        recommendation_document_no=a.recommendation_document_no,
        materials=[
            pb.Material(
                material_id=m.material_id,
                kind=m.kind,
                filename=m.filename,
                sha256=m.sha256,
                size_bytes=m.size_bytes,
            )
            for m in materials
        ],
        created_at=ts(a.created_at),
    )


class GatewayHolder(Protocol):
    @property
    def gateway(self) -> CycleGateway: ...


def actor(role: str) -> wf.Actor:
    p = principal()
    return wf.Actor(user_id=p.user_id, display_name=p.display_name or p.username, role=role)


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, rt: Runtime, app: GatewayHolder) -> None:
        self.rt = rt
        self.app = app

    @property
    def gateway(self) -> CycleGateway:
        return self.app.gateway

    async def _cycle(self, cycle_id: str) -> CycleRow:
        async with self.rt.db.transaction() as s:
            c = await IntakeStore(s).cycle(cycle_id)
        if c is None:
            raise not_found("cycle", cycle_id, "年度申报")
        return c

    async def _cycle_pb(self, cycle_id: str) -> pb.Cycle:
        c = await self._cycle(cycle_id)
        return cycle_pb(c, await self.gateway.status(cycle_id))

    # ---------------------------------------------------------------- cycles

    async def CreateCycle(self, request, context):
        v = Check()
        if v.identifier("cycle_id", request.cycle_id) and not request.cycle_id.replace("-", "").isalnum():
            v.fail("cycle_id", "must be letters, digits and '-' only", "只能包含字母、数字和 -")
        v.required("title", request.title) and v.max_length("title", request.title, 200)
        if request.WhichOneof("policy") is None:
            v.fail("policy", "give policy_name or policy_yaml", "须提供 policy_name 或 policy_yaml")
        v.done()
        settings = self.rt.settings
        try:
            if request.WhichOneof("policy") == "policy_name":
                policy = find_policy(request.policy_name, settings.policy_dir)
            else:
                policy = load_policy_text(request.policy_yaml, source="policy_yaml")
        except PolicyNotFound as e:  # name the ones that exist, never the server's paths
            raise NotFound(
                f"policy {e.name!r} not found (available: {', '.join(e.available) or 'none'})",
                f"未找到实施细则 {e.name}（可用：{'、'.join(e.available) or '无'}）",
                reason="POLICY_NOT_FOUND",
            ) from None
        except PolicyError as e:
            field = "policy_yaml" if request.WhichOneof("policy") == "policy_yaml" else "policy_name"
            raise InvalidArgument(
                f"the policy has {len(e.errors)} error(s); nothing was started",
                f"实施细则有 {len(e.errors)} 处错误，未创建年度申报",
                reason="POLICY_INVALID",
                violations=[
                    FieldViolation(f"{field}.{path}" if path else field, msg) for path, msg in e.errors
                ],
            ) from None
        now = now_utc()
        cycles.check_may_create(
            policy, now=now, scope=settings.instance_scope, city_code=settings.instance_city_code
        )
        plan = cycles.plan(policy, now)
        inp = cycles.workflow_input(request.cycle_id, policy, plan)
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            if await store.cycle(request.cycle_id):
                raise AlreadyExists(
                    f"cycle {request.cycle_id} already exists",
                    f"年度申报 {request.cycle_id} 已存在",
                    reason="CYCLE_EXISTS",
                )
            row = CycleRow(
                cycle_id=request.cycle_id,
                title=request.title,
                policy_id=policy.policy_id,
                policy_json=inp.policy_json,
                scope=policy.scope,
                city_code=policy.jurisdiction,
                legal_basis=list(policy.legal_basis),
                phase="PUBLISHED",
                note="",
                proposal_version=0,
                budget_fen=policy.budget_fen,
                applications_open_at=plan.applications_open_at,
                applications_close_at=plan.applications_close_at,
                city_review_due_at=plan.city_review_due_at,
                workflow_id=wf.workflow_id(request.cycle_id),
                created_by=principal().user_id,
            )
            await store.add(row)
            # Inside the transaction: if the workflow cannot start, the cycle is not recorded.
            await self.gateway.start(inp)
        return pb.CreateCycleResponse(cycle=cycle_pb(row, None))

    async def GetCycle(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        return pb.GetCycleResponse(cycle=await self._cycle_pb(request.cycle_id))

    async def ListCycles(self, request, context):
        async with self.rt.db.transaction() as s:
            rows = await IntakeStore(s).cycles()
        return pb.ListCyclesResponse(cycles=[cycle_pb(r, None) for r in rows])

    # ---------------------------------------------------------------- applications

    async def CreateApplication(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.identifier("organization_id", request.organization_id)
        v.identifier("operator_organization_id", request.operator_organization_id)
        v.required("title", request.title) and v.max_length("title", request.title, 200)
        if v.required("service_lines", list(request.service_lines)):
            for i, line in enumerate(request.service_lines):
                v.one_of(f"service_lines[{i}]", line, apps.SERVICE_LINES)
        for i, m in enumerate(request.materials):
            v.required(f"materials[{i}].kind", m.kind)
            v.required(f"materials[{i}].filename", m.filename)
            if len(m.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in m.sha256):
                v.fail(f"materials[{i}].sha256", "must be 64 lowercase hex digits", "须为64位小写十六进制")
            v.non_negative(f"materials[{i}].size_bytes", m.size_bytes)
        v.done()
        p = principal()
        if request.organization_id != p.organization_id:
            raise authz.denied("an applicant applies for its own organisation only", "只能以本单位名义申报")
        cycle = await self._cycle(request.cycle_id)
        apps.check_may_draft(cycle)
        idn = self.rt.clients.identity
        org = (
            await idn.GetOrganization(
                ipb.GetOrganizationRequest(organization_id=request.organization_id), timeout=10
            )
        ).organization
        try:
            op = (
                await idn.GetOrganization(
                    ipb.GetOrganizationRequest(organization_id=request.operator_organization_id), timeout=10
                )
            ).organization
        except grpc.aio.AioRpcError as e:  # unknown or not the applicant's: refused below; others propagate
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
            op = None
        if (
            op is None
            or op.kind != ipb.ORGANIZATION_KIND_OPERATOR_ORG
            or op.parent_organization_id != org.organization_id
        ):
            raise InvalidArgument(
                "operator_organization_id must be the applicant's registered operating organisation (Art. 5(3))",
                "须填写本企业已登记的专门运营机构（第五条第三项）",
                reason="OPERATOR_ORG_INVALID",
                violations=[
                    FieldViolation(
                        "operator_organization_id",
                        "not an operating organisation of the applicant",
                        "不是本企业的运营机构",
                    )
                ],
            )
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            if await store.application_of(request.cycle_id, org.organization_id):
                raise AlreadyExists(
                    "the organisation already has an application in this cycle",
                    "本单位本年度已有申报",
                    reason="APPLICATION_EXISTS",
                )
            row = ApplicationRow(
                application_id=new_id("app"),
                cycle_id=request.cycle_id,
                organization_id=org.organization_id,
                operator_organization_id=op.organization_id,
                enterprise_name=org.name,
                city_code=org.city_code,
                title=request.title,
                service_lines=list(request.service_lines),
                status=apps.DRAFT,
                declaration=None,
                eligibility_failures=[],
                created_by=p.user_id,
            )
            await store.add(row)
            mats = []
            for m in request.materials:
                mr = MaterialRow(
                    material_id=new_id("mat"),
                    application_id=row.application_id,
                    kind=m.kind,
                    filename=m.filename,
                    sha256=m.sha256,
                    size_bytes=m.size_bytes,
                )
                await store.add(mr)
                mats.append(mr)
        return pb.CreateApplicationResponse(application=application_pb(row, mats))

    async def GetApplication(self, request, context):
        v = Check()
        v.identifier("application_id", request.application_id)
        v.done()
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            a = apps.visible_or_not_found(
                principal(), await store.application(request.application_id), request.application_id
            )
            mats = await store.materials(a.application_id)
        return pb.GetApplicationResponse(application=application_pb(a, mats))

    async def ListApplications(self, request, context):
        p = principal()
        city = request.city_code or None
        org = None
        if not authz.is_province_wide(p):
            if p.has(*authz.CITY_ROLES):
                city = p.city_code
            else:
                org = p.organization_id
        async with self.rt.db.transaction() as s:
            rows = await IntakeStore(s).applications(
                cycle_id=request.cycle_id or None,
                city_code=city,
                status=PB_TO_STATUS.get(request.status),
                organization_id=org,
            )
        return pb.ListApplicationsResponse(applications=[application_pb(a) for a in rows])

    async def SubmitApplication(self, request, context):
        v = Check()
        v.identifier("application_id", request.application_id)
        v.done()
        apps.check_declaration(request.declaration.signer_name, request.declaration.accepted)
        p = principal()
        now = now_utc()
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            a = apps.visible_or_not_found(
                p, await store.application(request.application_id), request.application_id
            )
            cycle = await store.cycle(a.cycle_id)
            apps.check_may_submit(p, cycle, a, now)
        today = now.astimezone(cycles.SHANGHAI).date().isoformat()
        result = await self.rt.clients.identity.CheckEligibility(
            ipb.CheckEligibilityRequest(organization_id=a.organization_id, as_of_date=today), timeout=10
        )
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            a = await store.application(request.application_id, for_update=True)
            cycle = await store.cycle(a.cycle_id)
            apps.check_may_submit(p, cycle, a, now_utc())  # nothing changed meanwhile
            a.declaration = {
                "signer_name": request.declaration.signer_name,
                "signer_title": request.declaration.signer_title,
                "accepted": True,
                "signed_at": now.isoformat(),
            }
            a.submitted_at = now
            a.eligibility_failures = [
                {"rule": f.rule, "article": f.article, "message": f.message, "message_zh": f.message_zh}
                for f in result.failures
            ]
            a.status = apps.SUBMITTED if result.eligible else apps.INELIGIBLE
            mats = await store.materials(a.application_id)
        return pb.SubmitApplicationResponse(application=application_pb(a, mats))

    # ---------------------------------------------------------------- decisions (workflow updates)

    async def SignCityRecommendation(self, request, context):
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
        p = principal()
        if p.city_code != request.city_code:
            raise authz.denied(
                f"officials of city {p.city_code} cannot sign for city {request.city_code}",
                "不能代其他城市签署推荐意见",
            )
        await self._cycle(request.cycle_id)
        role = authz.CITY_INDUSTRY if p.has(authz.CITY_INDUSTRY) else authz.CITY_FINANCE
        signoff = wf.CitySignoff(
            actor=actor(role),
            city_code=request.city_code,
            document_no=request.document_no,
            items=[wf.RecommendationItem(i.application_id, i.recommended, i.opinion) for i in request.items],
        )
        r: wf.SignoffResult = await self.gateway.decide(
            request.cycle_id, "sign_city_recommendation", signoff, wf.SignoffResult
        )
        return pb.SignCityRecommendationResponse(
            recommendation=pb.Recommendation(
                cycle_id=request.cycle_id,
                city_code=r.city_code,
                document_no=r.document_no,
                items=list(request.items),
                signoffs=[pb.Signoff(role=role_) for role_ in r.signed_roles],
                complete=r.complete,
            )
        )

    async def DecideCompliance(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        if v.required("decisions", list(request.decisions)):
            v.unique("decisions", [d.application_id for d in request.decisions])
            for i, d in enumerate(request.decisions):
                v.identifier(f"decisions[{i}].application_id", d.application_id)
                if not d.compliant and not [r for r in d.reasons if r.strip()]:
                    v.fail(
                        f"decisions[{i}].reasons",
                        "a non-compliant decision needs its reasons",
                        "不合规结论须说明理由",
                    )
        v.done()
        await self._cycle(request.cycle_id)
        r: wf.ComplianceResult = await self.gateway.decide(
            request.cycle_id,
            "decide_compliance",
            wf.ComplianceDecisions(
                actor(authz.PROVINCE_INDUSTRY),
                [
                    wf.ComplianceItem(d.application_id, d.compliant, list(d.reasons))
                    for d in request.decisions
                ],
            ),
            wf.ComplianceResult,
        )
        return pb.DecideComplianceResponse(decided=r.decided, remaining=r.remaining)

    async def ConcludeExpertReview(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        await self._cycle(request.cycle_id)
        version = await self.gateway.decide(
            request.cycle_id, "conclude_expert_review", wf.Conclusion(actor(authz.PROVINCE_INDUSTRY)), int
        )
        return pb.ConcludeExpertReviewResponse(proposal_version=version)

    async def _proposal_decision(
        self, request, update: str, role: str, approve: bool, opinion: str, reference: str = ""
    ):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.positive("proposal_version", request.proposal_version)
        if not approve:
            v.required("opinion", opinion)
        v.done()
        await self._cycle(request.cycle_id)
        await self.gateway.decide(
            request.cycle_id,
            update,
            wf.ProposalDecision(actor(role), request.proposal_version, approve, opinion, reference),
            str,
        )
        return await self._cycle_pb(request.cycle_id)

    async def DecideFinanceConcurrence(self, request, context):
        c = await self._proposal_decision(
            request, "decide_finance_concurrence", authz.PROVINCE_FINANCE, request.agree, request.opinion
        )
        return pb.DecideFinanceConcurrenceResponse(cycle=c)

    async def DecidePartyGroupApproval(self, request, context):
        c = await self._proposal_decision(
            request,
            "decide_party_group_approval",
            authz.PARTY_GROUP,
            request.approve,
            request.opinion,
            request.meeting_reference,
        )
        return pb.DecidePartyGroupApprovalResponse(cycle=c)

    async def ResubmitProposal(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("note", request.note)
        v.done()
        await self._cycle(request.cycle_id)
        await self.gateway.decide(
            request.cycle_id,
            "resubmit_proposal",
            wf.Conclusion(actor(authz.PROVINCE_INDUSTRY), request.note),
            int,
        )
        return pb.ResubmitProposalResponse(cycle=await self._cycle_pb(request.cycle_id))

    async def DecidePublicityOutcome(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.required("announcement_document_no", request.announcement_document_no)
        v.done()
        await self._cycle(request.cycle_id)
        await self.gateway.decide(
            request.cycle_id,
            "decide_publicity_outcome",
            wf.PublicityOutcome(actor(authz.PROVINCE_INDUSTRY), request.announcement_document_no),
            int,
        )
        return pb.DecidePublicityOutcomeResponse(cycle=await self._cycle_pb(request.cycle_id))

    async def ConcludeSupervision(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        await self._cycle(request.cycle_id)
        await self.gateway.decide(
            request.cycle_id,
            "conclude_supervision",
            wf.Conclusion(actor(authz.PROVINCE_INDUSTRY), request.summary),
            str,
        )
        return pb.ConcludeSupervisionResponse(cycle=await self._cycle_pb(request.cycle_id))

    # ---------------------------------------------------------------- the workflow's activities

    async def RecordCyclePhase(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.enum_set("phase", request.phase)
        v.done()
        async with self.rt.db.transaction() as s:
            c = await IntakeStore(s).cycle(request.cycle_id, for_update=True)
            if c is None:
                raise not_found("cycle", request.cycle_id, "年度申报")
            c.phase = pb.CyclePhase.Name(request.phase).removeprefix("CYCLE_PHASE_")
            c.note = request.note
            c.proposal_version = request.proposal_version
        return pb.RecordCyclePhaseResponse()

    async def CloseApplicationWindow(self, request, context):
        v = Check()
        v.identifier("cycle_id", request.cycle_id)
        v.done()
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            if await store.cycle(request.cycle_id) is None:
                raise not_found("cycle", request.cycle_id, "年度申报")
            # Drafts never submitted stay drafts; ineligible ones are not forwarded to the city.
            rows = await store.applications(cycle_id=request.cycle_id, status=apps.SUBMITTED)
            # With their materials: review shows them to each assigned expert after the declaration.
            mats = await store.materials_of([a.application_id for a in rows])
        return pb.CloseApplicationWindowResponse(
            submitted=[application_pb(a, mats[a.application_id]) for a in rows]
        )

    async def RecordRecommendation(self, request, context):
        r = request.recommendation
        v = Check()
        v.identifier("recommendation.cycle_id", r.cycle_id)
        v.required("recommendation.city_code", r.city_code)
        v.required("recommendation.document_no", r.document_no)
        if len({s.role for s in r.signoffs}) != 2:
            v.fail(
                "recommendation.signoffs",
                "needs the sign-offs of city industry and city finance",
                "须有市工信局和市财政局共同签署",
            )
        v.done()
        async with self.rt.db.transaction() as s:
            store = IntakeStore(s)
            if await store.recommendation(r.cycle_id, r.city_code) is None:  # idempotent for retries
                await store.add(
                    RecommendationRow(
                        cycle_id=r.cycle_id,
                        city_code=r.city_code,
                        document_no=r.document_no,
                        items=[
                            {
                                "application_id": i.application_id,
                                "recommended": i.recommended,
                                "opinion": i.opinion,
                            }
                            for i in r.items
                        ],
                        signoffs=[
                            {
                                "role": x.role,
                                "user_id": x.user_id,
                                "display_name": x.display_name,
                                "signed_at": x.signed_at.ToJsonString(),
                            }
                            for x in r.signoffs
                        ],
                    )
                )
            out = []
            for item in r.items:
                a = await store.application(item.application_id, for_update=True)
                if a is None or a.cycle_id != r.cycle_id or a.city_code != r.city_code:
                    raise NotFound(
                        f"application {item.application_id} is not in city {r.city_code}",
                        "该项目不属于本市",
                        reason="APPLICATION_NOT_IN_CITY",
                    )
                a.status = apps.RECOMMENDED if item.recommended else apps.NOT_RECOMMENDED
                a.recommendation_document_no = r.document_no
                a.recommendation_opinion = item.opinion
                out.append(a)
        return pb.RecordRecommendationResponse(applications=[application_pb(a) for a in out])
