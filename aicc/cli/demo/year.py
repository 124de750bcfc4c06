"""A demo year driven through the officials', applicants' and experts' RPCs, **from whatever phase
the cycle is in**: each step reads what is already done (applications, sign-offs, decisions,
sheets, reports) and does only the rest, so ``aicc demo`` resumes a year interrupted by a restart.
A cycle that needs attention is reported and the demo stops (a person must act)."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import grpc

from aicc.cli.demo.province import (
    ALL_ENTERPRISES,
    CITIES,
    ENTERPRISES,
    EXPERTS,
    PHASE_ZH,
    TIER_ZH,
    Demo,
    applicant_of,
    say,
)
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.money import format_wan_yuan
from aicc.platform.policy import default_policy_dir, load_policy_text
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb
from services.intake.api import MAX_COMPLIANCE_DECISIONS

STORY = {name: story for name, *_rest, story in ALL_ENTERPRISES}
QUALITY = {name: q for name, _c, _d, q, _s in ALL_ENTERPRISES}


class NeedsAttention(RuntimeError):
    """The cycle waits for a person (its reason says what to fix); the demo cannot go on."""


def _phase(c: inpb.Cycle) -> str:
    return inpb.CyclePhase.Name(c.phase).removeprefix("CYCLE_PHASE_")


async def pages(call: Callable[..., Awaitable[Any]], request: Any, field: str) -> AsyncIterator[Any]:
    """Every item of a paged list RPC."""
    while True:
        page = await call(request)
        for item in getattr(page, field):
            yield item
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


async def ignoring(call: Awaitable[Any], *codes: grpc.StatusCode) -> Any:
    """A step that may have been done before the restart: its "already done" answer is fine."""
    try:
        return await call
    except grpc.aio.AioRpcError as e:
        if e.code() not in codes:
            raise
        return None


class Year:
    """One demo cycle funded by ``fiscal_year``'s appropriation. The first year's enterprises apply;
    in a later year (``later``) they apply again together with the newcomers, and those awarded
    before are refused (Art. 11)."""

    def __init__(self, demo: Demo, cycle_id: str, *, fiscal_year: int, later: bool = False) -> None:
        self.d = demo
        self.cycle_id = cycle_id
        self.fiscal_year = fiscal_year
        self.enterprises = [name for name, *_rest in (ALL_ENTERPRISES if later else ENTERPRISES)]
        self.seen = 0
        self.started = time.monotonic()
        self.policy_text = (default_policy_dir() / "demo.yaml").read_text(encoding="utf-8")
        self.policy = load_policy_text(self.policy_text, source="demo.yaml")

    async def cycle(self) -> inpb.Cycle:
        request = inpb.GetCycleRequest(cycle_id=self.cycle_id)
        return (await self.d.stub("sd.industry", "intake").GetCycle(request)).cycle

    def _report(self, c: inpb.Cycle) -> None:
        for h in list(c.history)[self.seen :]:
            name = inpb.CyclePhase.Name(h.phase).removeprefix("CYCLE_PHASE_")
            n = c.counts
            detail = {
                "CITY_REVIEW": f"submitted {n.submitted}",
                "COMPLIANCE_REVIEW": f"recommended {n.recommended} by {n.cities_recommended} cities",
                "EXPERT_REVIEW": f"compliant {n.compliant}",
                "FINANCE_CONCURRENCE": f"proposal v{c.proposal_version}: {n.awarded} awards, {n.reserve} reserve",
                "SUPERVISING": f"disbursed {n.disbursed}",
            }.get(name, "")
            elapsed = time.monotonic() - self.started
            say(f"  [{elapsed:6.1f}s] {name:<21} {PHASE_ZH[name]:<8} {detail} {h.note}".rstrip())
        self.seen = max(self.seen, len(c.history))  # none while the workflow cannot be queried

    async def until(self, *phases: str, within: float = 180) -> inpb.Cycle:
        deadline = time.monotonic() + within
        while True:
            c = await self.cycle()
            self._report(c)
            if c.needs_attention:
                raise NeedsAttention(f"cycle {self.cycle_id} needs attention: {c.attention_reason}")
            if _phase(c) in phases:
                return c
            if time.monotonic() > deadline:
                raise TimeoutError(f"cycle stayed in {_phase(c)}; expected {', '.join(phases)}")
            await asyncio.sleep(0.25)

    async def retry(self, call: Callable[[], Awaitable[Any]], *, within: float = 120) -> Any:
        """Repeats a decision refused only because its time has not come yet (e.g. publicity running)."""
        deadline = time.monotonic() + within
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ the year

    async def run(self) -> inpb.Cycle:
        """Creates the cycle unless it exists, then acts in each phase until CLOSED."""
        if not await self._exists():
            await self.create()
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "PUBLISHED": self.applications,
            "APPLYING": self.applications,
            "CITY_REVIEW": self.city_review,
            "COMPLIANCE_REVIEW": self.compliance_review,
            "EXPERT_REVIEW": self.expert_review,
            "PROPOSAL": self.wait,
            "FINANCE_CONCURRENCE": self.finance,
            "PARTY_GROUP_APPROVAL": self.party_group,
            "PUBLICITY": self.publicity,
            "ANNOUNCED": self.wait,
            "DISBURSING": self.wait,
            "SUPERVISING": self.supervision,
        }
        while True:
            c = await self.until(*steps, "CLOSED")
            if _phase(c) == "CLOSED":
                return c
            await steps[_phase(c)]()

    async def _exists(self) -> bool:
        return await ignoring(self.cycle(), grpc.StatusCode.NOT_FOUND) is not None

    async def wait(self) -> None:
        """Phases the workflow leaves by itself."""
        phase = _phase(await self.cycle())
        await self.until(*(p for p in PHASE_ZH if p != phase))

    async def create(self) -> None:
        d = self.d
        await d.stub("sd.industry", "intake").CreateCycle(
            inpb.CreateCycleRequest(
                cycle_id=self.cycle_id,
                title=f"{self.fiscal_year}年度省级工业领域AI能力中心认定（演示）",
                policy_yaml=self.policy_text,
                fiscal_year=self.fiscal_year,
            )
        )
        say(
            f"  cycle {self.cycle_id} created from policies/demo.yaml "
            f"(budget {format_wan_yuan(self.policy.budget_fen)} 万元 from the {self.fiscal_year} appropriation)"
        )

    async def _applications(self) -> dict[str, inpb.Application]:
        """The demo enterprises' applications in this cycle, by enterprise name."""
        out: dict[str, inpb.Application] = {}
        for name in self.enterprises:
            await self.d.login(applicant_of(name))
            stub = self.d.stub(applicant_of(name), "intake")
            request = inpb.ListApplicationsRequest(cycle_id=self.cycle_id)
            async for a in pages(stub.ListApplications, request, "applications"):
                out[name] = a
        return out

    async def applications(self) -> None:
        """Drafts as soon as the call is published; submission once the window opens."""
        d = self.d
        existing = await self._applications()
        for name in self.enterprises:
            if name in existing:
                continue
            digest = hashlib.sha256(f"{self.cycle_id}:{name}".encode()).hexdigest()
            a = await d.stub(applicant_of(name), "intake").CreateApplication(
                inpb.CreateApplicationRequest(
                    cycle_id=self.cycle_id,
                    organization_id=d.orgs[name].organization_id,
                    operator_organization_id=d.operators[name].organization_id,
                    title=f"{name} 工业AI能力中心",
                    service_lines=["compute", "corpus", "model_training", "agent_deployment", "security"],
                    materials=[
                        inpb.Material(
                            kind="application_form",
                            filename="申报书.pdf",
                            sha256=digest,
                            size_bytes=1_048_576,
                        )
                    ],
                )
            )
            existing[name] = a.application
        await self.until("APPLYING", "CITY_REVIEW", "CLOSED")
        if _phase(await self.cycle()) != "APPLYING":
            return
        for name in self.enterprises:
            if existing[name].status != inpb.APPLICATION_STATUS_DRAFT:
                continue
            submitted = await d.stub(applicant_of(name), "intake").SubmitApplication(
                inpb.SubmitApplicationRequest(
                    application_id=existing[name].application_id,
                    declaration=inpb.AuthenticityDeclaration(
                        signer_name=f"{name[:2]}法定代表人", signer_title="法定代表人", accepted=True
                    ),
                )
            )
            if submitted.application.status == inpb.APPLICATION_STATUS_INELIGIBLE:
                why = "；".join(
                    f"{f.message_zh}（{f.article}）" for f in submitted.application.eligibility_failures
                )
                say(f"  not eligible: {name} — {why}")
        await self.until("CITY_REVIEW", "CLOSED")

    async def city_review(self) -> None:
        """Both bureaus of each city sign the same joint recommendation (a bureau that signed
        before a restart answers ALREADY_EXISTS)."""
        d = self.d
        for code, city in CITIES.items():
            await d.login(f"{code}.industry")
            await d.login(f"{code}.finance")
            stub = d.stub(f"{code}.industry", "intake")
            request = inpb.ListApplicationsRequest(
                cycle_id=self.cycle_id, status=inpb.APPLICATION_STATUS_SUBMITTED
            )
            apps = [a async for a in pages(stub.ListApplications, request, "applications")]
            if not apps:
                continue
            doc = f"{city[:1]}工信联字〔{self.fiscal_year}〕{int(code[2:4])}号"
            for role, opinion_yes in (
                ("industry", "材料齐全，同意推荐"),
                ("finance", "资金需求合理，同意推荐"),
            ):
                items = [
                    inpb.RecommendationItem(
                        application_id=a.application_id,
                        recommended=STORY.get(a.enterprise_name) != "not_recommended",
                        opinion=opinion_yes
                        if STORY.get(a.enterprise_name) != "not_recommended"
                        else "算力规模不足，暂不推荐",
                    )
                    for a in apps
                ]
                request_sign = inpb.SignCityRecommendationRequest(
                    cycle_id=self.cycle_id, city_code=code, document_no=doc, items=items
                )
                await ignoring(
                    d.stub(f"{code}.{role}", "intake").SignCityRecommendation(request_sign),
                    grpc.StatusCode.ALREADY_EXISTS,
                )
        await self.until("COMPLIANCE_REVIEW", "CLOSED")

    async def compliance_review(self) -> None:
        d = self.d
        stub = d.stub("sd.industry", "intake")
        request = inpb.ListApplicationsRequest(
            cycle_id=self.cycle_id, status=inpb.APPLICATION_STATUS_RECOMMENDED
        )
        reviews = d.stub("sd.industry", "review")
        decided = {
            r.application_id
            async for r in pages(
                reviews.ListComplianceReviews,
                rpb.ListComplianceReviewsRequest(cycle_id=self.cycle_id),
                "reviews",
            )
        }
        undecided = [
            a
            async for a in pages(stub.ListApplications, request, "applications")
            if a.application_id not in decided
        ]
        # Intake takes at most MAX_COMPLIANCE_DECISIONS per request: a large year goes in batches.
        for start in range(0, len(undecided), MAX_COMPLIANCE_DECISIONS):
            await stub.DecideCompliance(
                inpb.DecideComplianceRequest(
                    cycle_id=self.cycle_id,
                    decisions=[
                        inpb.ComplianceDecision(
                            application_id=a.application_id,
                            compliant=STORY.get(a.enterprise_name) != "non_compliant",
                            reasons=[]
                            if STORY.get(a.enterprise_name) != "non_compliant"
                            else ["运营机构未独立核算，不符合第五条第三项"],
                        )
                        for a in undecided[start : start + MAX_COMPLIANCE_DECISIONS]
                    ],
                )
            )
        await self.until("EXPERT_REVIEW", "CLOSED")

    async def expert_review(self) -> None:
        """Experts declare, then score their assignments still open; the province concludes."""
        for username, *_rest in EXPERTS:
            await self.d.login(username)
            rv = self.d.stub(username, "review")
            request = rpb.ListAssignmentsRequest(cycle_id=self.cycle_id)
            async for asg in pages(rv.ListAssignments, request, "assignments"):
                if asg.status in (rpb.ASSIGNMENT_STATUS_SCORED, rpb.ASSIGNMENT_STATUS_RECUSED):
                    continue
                await self._score(username, rv, asg)
        await ignoring(
            self.d.stub("sd.industry", "intake").ConcludeExpertReview(
                inpb.ConcludeExpertReviewRequest(cycle_id=self.cycle_id)
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        await self.until("PROPOSAL", "FINANCE_CONCURRENCE")

    async def _score(self, username: str, rv: Any, asg: rpb.Assignment) -> None:
        policy = self.policy
        if asg.status == rpb.ASSIGNMENT_STATUS_PENDING_DECLARATION:
            await rv.DeclareConflict(
                rpb.DeclareConflictRequest(
                    assignment_id=asg.assignment_id, has_conflict=False, statement="本人与申报单位无利害关系"
                )
            )
        # Only now (no conflict declared) may the expert read the application's materials.
        materials = await rv.GetAssignmentMaterials(
            rpb.GetAssignmentMaterialsRequest(assignment_id=asg.assignment_id)
        )
        if not materials.materials:
            raise RuntimeError(f"no materials reached the expert for {asg.application_id}")
        rng = random.Random(f"{username}:{asg.application_id}")  # noqa: S311 - demo scores, not a secret
        scores = []
        for ind in policy.indicator_ids():
            mx = policy.indicator(ind).max_points
            frac = min(max(QUALITY[asg.enterprise_name] + rng.uniform(-0.05, 0.05), 0.3), 1.0)
            pts = (mx * Decimal(str(frac))).quantize(Decimal("0.5"), rounding=ROUND_HALF_UP)
            ratio = pts / mx
            just = ""
            if ratio > policy.scoring.justification_above:
                just = "经现场核查，该项表现显著"
            elif ratio < policy.scoring.justification_below:
                just = "该项材料支撑不足"
            scores.append(rpb.IndicatorScore(indicator_id=ind, points=str(pts), justification=just))
        await rv.SubmitScoreSheet(rpb.SubmitScoreSheetRequest(assignment_id=asg.assignment_id, scores=scores))

    async def finance(self) -> None:
        d = self.d
        c = await self.cycle()
        await d.login("sd.finance")
        await d.stub("sd.finance", "intake").DecideFinanceConcurrence(
            inpb.DecideFinanceConcurrenceRequest(
                cycle_id=self.cycle_id,
                proposal_version=c.proposal_version,
                agree=True,
                opinion="同意资金分配建议",
            )
        )
        await self.until("PARTY_GROUP_APPROVAL", "PROPOSAL")

    async def party_group(self) -> None:
        d = self.d
        c = await self.cycle()
        await d.login("sd.partygroup")
        await d.stub("sd.partygroup", "intake").DecidePartyGroupApproval(
            inpb.DecidePartyGroupApprovalRequest(
                cycle_id=self.cycle_id,
                proposal_version=c.proposal_version,
                approve=True,
                meeting_reference=f"厅党组会〔{self.fiscal_year}〕18次",
                opinion="同意公示",
            )
        )
        await self.until("PUBLICITY", "PROPOSAL")

    async def proposal(self) -> rpb.Proposal:
        request = rpb.GetProposalRequest(cycle_id=self.cycle_id)
        return (await self.d.stub("sd.industry", "review").GetProposal(request)).proposal

    async def publicity(self) -> None:
        """A real-name objection during publicity (once), investigated and dismissed; then the
        announcement, once the period has run."""
        d = self.d
        review = d.stub("sd.industry", "review")
        objections = [
            o
            async for o in pages(
                review.ListObjections, rpb.ListObjectionsRequest(cycle_id=self.cycle_id), "objections"
            )
        ]
        funded = [line for line in (await self.proposal()).lines if line.amount_fen > 0]
        if not objections and funded:
            target = funded[0]
            await d.login("applicant01")
            obj = (
                await d.stub("applicant01", "review").FileObjection(
                    rpb.FileObjectionRequest(
                        cycle_id=self.cycle_id,
                        application_id=target.application_id,
                        objector_name="赵某某",
                        objector_contact="0531-88888888",
                        content="质疑其算力规模数据",
                    )
                )
            ).objection
            objections = [obj]
        for obj in objections:
            if obj.status != rpb.OBJECTION_STATUS_UNDER_INVESTIGATION:
                continue
            await review.RecordInvestigation(
                rpb.RecordInvestigationRequest(
                    objection_id=obj.objection_id,
                    upheld=False,
                    findings="经现场核查，算力规模属实，异议不成立",
                    investigator="省工信厅人工智能处 张科长",
                    evidence=["现场核查记录（2页）", "算力设备清单及发票"],
                    reply_to_objector="经核查，您反映的算力规模问题不属实，特此答复。",
                    reply_to_applicant="经核查，贵单位申报的算力规模属实。",
                    investigated_on=time.strftime("%Y-%m-%d"),
                )
            )
            say("  publicity: 1 real-name objection filed and investigated (dismissed)")
        await self.retry(
            lambda: d.stub("sd.industry", "intake").DecidePublicityOutcome(
                inpb.DecidePublicityOutcomeRequest(
                    cycle_id=self.cycle_id, announcement_document_no=f"鲁工信数据〔{self.fiscal_year}〕88号"
                )
            )
        )
        await self.until("ANNOUNCED", "DISBURSING", "SUPERVISING", "PROPOSAL", "FINANCE_CONCURRENCE")

    async def supervision(self) -> None:
        d = self.d
        for line in (await self.proposal()).lines:
            if line.amount_fen <= 0:
                continue
            who = applicant_of(line.enterprise_name)
            await d.login(who)
            sv = d.stub(who, "supervision")
            request = spb.ListPerformanceTargetsRequest(
                cycle_id=self.cycle_id, application_id=line.application_id
            )
            targets = [t async for t in pages(sv.ListPerformanceTargets, request, "targets")]
            await ignoring(
                sv.SubmitMonitoringReport(
                    spb.SubmitMonitoringReportRequest(
                        cycle_id=self.cycle_id,
                        application_id=line.application_id,
                        values=[
                            spb.ReportedValue(target_id=t.target_id, value=t.target_value) for t in targets
                        ],
                        narrative="年度绩效目标按计划推进，资金专款专用。",
                    )
                ),
                grpc.StatusCode.ALREADY_EXISTS,
            )
            await ignoring(
                d.stub("sd.industry", "supervision").RecordEvaluation(
                    spb.RecordEvaluationRequest(
                        cycle_id=self.cycle_id,
                        application_id=line.application_id,
                        grade=spb.EVALUATION_GRADE_GOOD,
                        comments="绩效良好",
                    )
                ),
                grpc.StatusCode.ALREADY_EXISTS,
            )
        await self.retry(
            lambda: d.stub("sd.industry", "intake").ConcludeSupervision(
                inpb.ConcludeSupervisionRequest(cycle_id=self.cycle_id, summary="年度绩效评价完成")
            )
        )
        await self.until("CLOSED")

    async def award_table(self) -> None:
        d = self.d
        proposal = await self.proposal()
        budget = (
            await d.stub("sd.finance", "funding").GetBudget(fpb.GetBudgetRequest(cycle_id=self.cycle_id))
        ).budget
        say("")
        say(f"Award table / 奖补名单 — cycle {self.cycle_id}, proposal v{proposal.version}")
        say(f"{'rank':>4}  {'enterprise':<26}{'city':<8}{'score':>7}  {'tier':<18}{'amount (万元)':>12}")
        for line in proposal.lines:
            tier = "reserve 备选" if line.reserve else TIER_ZH.get(line.tier, "—")
            city = CITIES.get(line.city_code, line.city_code)
            amount = format_wan_yuan(line.amount_fen)
            say(
                f"{line.rank:>4}  {line.enterprise_name:<26}{city:<8}{line.final_score:>7}  {tier:<18}{amount:>12}"
            )
        say(
            f"budget {format_wan_yuan(budget.total_fen)} 万元 · disbursed {format_wan_yuan(budget.disbursed_fen)} 万元"
            f" · available {format_wan_yuan(budget.available_fen)} 万元 · returned {format_wan_yuan(budget.returned_fen)} 万元"
        )
        out = d.settings.data_dir / "exports"
        out.mkdir(parents=True, exist_ok=True)
        documents = (
            (rpb.DOCUMENT_KIND_PROPOSAL, "proposal / 拟支持名单"),
            (rpb.DOCUMENT_KIND_PUBLICITY_NOTICE, "publicity notice / 公示"),
            (rpb.DOCUMENT_KIND_ANNOUNCEMENT, "announcement / 公布"),
        )
        for kind, label in documents:
            for fmt in (rpb.EXPORT_FORMAT_XLSX, rpb.EXPORT_FORMAT_PDF):
                f = await d.stub("sd.industry", "review").ExportDocument(
                    rpb.ExportDocumentRequest(
                        cycle_id=self.cycle_id, kind=kind, version=proposal.version, format=fmt
                    )
                )
                path = out / f.filename
                path.write_bytes(f.content)
                say(f"{label}: {path}")
