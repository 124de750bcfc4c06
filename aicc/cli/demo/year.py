"""A demo year driven phase by phase through the officials', applicants' and experts' RPCs."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from decimal import ROUND_HALF_UP, Decimal

import grpc

from aicc.cli.demo.province import CITIES, ENTERPRISES, EXPERTS, PHASE_ZH, TIER_ZH, Demo, say
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.clock import beijing_date, now_utc
from aicc.platform.money import format_wan_yuan
from aicc.platform.policy import default_policy_dir, load_policy_text
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb


def _phase(c: inpb.Cycle) -> str:
    return inpb.CyclePhase.Name(c.phase).removeprefix("CYCLE_PHASE_")


class Year:
    def __init__(self, demo: Demo, cycle_id: str) -> None:
        self.d = demo
        self.cycle_id = cycle_id
        self.seen = 0
        self.started = time.monotonic()
        self.policy_text = (default_policy_dir() / "demo.yaml").read_text(encoding="utf-8")
        self.policy = load_policy_text(self.policy_text, source="demo.yaml")
        self.app_ids: dict[str, str] = {}
        self.proposal = rpb.Proposal()

    async def cycle(self) -> inpb.Cycle:
        return (
            await self.d.stub("sd.industry", "intake").GetCycle(inpb.GetCycleRequest(cycle_id=self.cycle_id))
        ).cycle

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
            say(
                f"  [{time.monotonic() - self.started:6.1f}s] {name:<21} {PHASE_ZH[name]:<8} {detail} {h.note}".rstrip()
            )
        self.seen = len(c.history)

    async def until(self, *phases: str, within: float = 180) -> inpb.Cycle:
        deadline = time.monotonic() + within
        while True:
            c = await self.cycle()
            self._report(c)
            if _phase(c) in phases:
                return c
            if time.monotonic() > deadline:
                raise TimeoutError(f"cycle stayed in {_phase(c)}; expected {', '.join(phases)}")
            await asyncio.sleep(0.25)

    async def retry(self, call, *, until_ok_of=grpc.StatusCode.FAILED_PRECONDITION, within: float = 120):
        """Repeats a decision refused only because its time has not come yet (e.g. publicity still running)."""
        deadline = time.monotonic() + within
        while True:
            try:
                return await call()
            except grpc.aio.AioRpcError as e:
                if e.code() != until_ok_of or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def run(self) -> inpb.Cycle:
        """The year, step by step; it ends early (CLOSED) when no application goes on."""
        await self.create()
        await self.applications()
        for step in (self.city_review, self.compliance_review):
            c = await step()
            if _phase(c) == "CLOSED":
                return c
        await self.expert_review()
        await self.approvals()
        await self.publicity()
        return await self.supervision()

    async def create(self) -> None:
        d = self.d
        policy_text, policy = self.policy_text, self.policy
        await d.stub("sd.industry", "intake").CreateCycle(
            inpb.CreateCycleRequest(
                cycle_id=self.cycle_id,
                title="2026年度省级工业领域AI能力中心认定（演示）",
                policy_yaml=policy_text,
            )
        )
        say(
            f"  cycle {self.cycle_id} created from policies/demo.yaml (budget {format_wan_yuan(policy.budget_fen)} 万元)"
        )
        for i in range(len(ENTERPRISES)):
            await d.login(f"applicant{i + 1:02d}")

    async def applications(self) -> None:
        d = self.d

        # Drafts may be prepared as soon as the call is published.
        app_ids = self.app_ids
        for i, (name, *_rest) in enumerate(ENTERPRISES):
            digest = hashlib.sha256(f"{self.cycle_id}:{name}".encode()).hexdigest()
            a = await d.stub(f"applicant{i + 1:02d}", "intake").CreateApplication(
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
            app_ids[name] = a.application.application_id
        await self.until("APPLYING")
        for i, (name, *_rest) in enumerate(ENTERPRISES):
            await d.stub(f"applicant{i + 1:02d}", "intake").SubmitApplication(
                inpb.SubmitApplicationRequest(
                    application_id=app_ids[name],
                    declaration=inpb.AuthenticityDeclaration(
                        signer_name=f"{name[:2]}法定代表人", signer_title="法定代表人", accepted=True
                    ),
                )
            )
        await self.until("CITY_REVIEW", "CLOSED")

    async def city_review(self) -> inpb.Cycle:
        """Both bureaus of each city sign the same joint recommendation."""
        d = self.d
        if _phase(await self.cycle()) == "CLOSED":
            return await self.cycle()
        for code, city in CITIES.items():
            await d.login(f"{code}.industry")
            await d.login(f"{code}.finance")
            apps = (
                await d.stub(f"{code}.industry", "intake").ListApplications(
                    inpb.ListApplicationsRequest(
                        cycle_id=self.cycle_id, status=inpb.APPLICATION_STATUS_SUBMITTED
                    )
                )
            ).applications
            if not apps:
                continue
            story = {n: s for n, *_r, s in ENTERPRISES}
            items = [
                inpb.RecommendationItem(
                    application_id=a.application_id,
                    recommended=story.get(a.enterprise_name) != "not_recommended",
                    opinion="材料齐全，同意推荐"
                    if story.get(a.enterprise_name) != "not_recommended"
                    else "算力规模不足，暂不推荐",
                )
                for a in apps
            ]
            doc = f"{city[:1]}工信联字〔2026〕{int(code[2:4])}号"
            for role in ("industry", "finance"):
                await d.stub(f"{code}.{role}", "intake").SignCityRecommendation(
                    inpb.SignCityRecommendationRequest(
                        cycle_id=self.cycle_id, city_code=code, document_no=doc, items=items
                    )
                )
        return await self.until("COMPLIANCE_REVIEW", "CLOSED")

    async def compliance_review(self) -> inpb.Cycle:
        d = self.d
        recommended = (
            await d.stub("sd.industry", "intake").ListApplications(
                inpb.ListApplicationsRequest(
                    cycle_id=self.cycle_id, status=inpb.APPLICATION_STATUS_RECOMMENDED
                )
            )
        ).applications
        story = {n: s for n, *_r, s in ENTERPRISES}
        await d.stub("sd.industry", "intake").DecideCompliance(
            inpb.DecideComplianceRequest(
                cycle_id=self.cycle_id,
                decisions=[
                    inpb.ComplianceDecision(
                        application_id=a.application_id,
                        compliant=story.get(a.enterprise_name) != "non_compliant",
                        reasons=[]
                        if story.get(a.enterprise_name) != "non_compliant"
                        else ["运营机构未独立核算，不符合第五条第三项"],
                    )
                    for a in recommended
                ],
            )
        )
        return await self.until("EXPERT_REVIEW", "CLOSED")

    async def expert_review(self) -> None:
        """Experts declare, then score their assignments; the province concludes."""
        d, policy = self.d, self.policy
        quality = {n: q for n, _c, _d, q, _s in ENTERPRISES}
        for username, *_rest in EXPERTS:
            rv = d.stub(username, "review")
            for asg in (
                await rv.ListAssignments(rpb.ListAssignmentsRequest(cycle_id=self.cycle_id))
            ).assignments:
                await rv.DeclareConflict(
                    rpb.DeclareConflictRequest(
                        assignment_id=asg.assignment_id,
                        has_conflict=False,
                        statement="本人与申报单位无利害关系",
                    )
                )
                # Only now (no conflict declared) may the expert read the application's materials.
                if not (
                    await rv.GetAssignmentMaterials(
                        rpb.GetAssignmentMaterialsRequest(assignment_id=asg.assignment_id)
                    )
                ).materials:
                    raise RuntimeError(f"no materials reached the expert for {asg.application_id}")
                rng = random.Random(f"{username}:{asg.application_id}")  # noqa: S311 - demo scores, not a secret
                scores = []
                for ind in policy.indicator_ids():
                    mx = policy.indicator(ind).max_points
                    frac = min(max(quality[asg.enterprise_name] + rng.uniform(-0.05, 0.05), 0.3), 1.0)
                    pts = (mx * Decimal(str(frac))).quantize(Decimal("0.5"), rounding=ROUND_HALF_UP)
                    ratio = pts / mx
                    just = ""
                    if (
                        ratio < policy.scoring.justification_below
                        or ratio > policy.scoring.justification_above
                    ):
                        just = (
                            "经现场核查，该项表现显著"
                            if ratio > policy.scoring.justification_above
                            else "该项材料支撑不足"
                        )
                    scores.append(rpb.IndicatorScore(indicator_id=ind, points=str(pts), justification=just))
                await rv.SubmitScoreSheet(
                    rpb.SubmitScoreSheetRequest(assignment_id=asg.assignment_id, scores=scores)
                )
        await d.stub("sd.industry", "intake").ConcludeExpertReview(
            inpb.ConcludeExpertReviewRequest(cycle_id=self.cycle_id)
        )

    async def approvals(self) -> None:
        d = self.d
        c = await self.until("FINANCE_CONCURRENCE")
        await d.login("sd.finance")
        await d.login("sd.partygroup")
        await d.stub("sd.finance", "intake").DecideFinanceConcurrence(
            inpb.DecideFinanceConcurrenceRequest(
                cycle_id=self.cycle_id,
                proposal_version=c.proposal_version,
                agree=True,
                opinion="同意资金分配建议",
            )
        )
        c = await self.until("PARTY_GROUP_APPROVAL")
        await d.stub("sd.partygroup", "intake").DecidePartyGroupApproval(
            inpb.DecidePartyGroupApprovalRequest(
                cycle_id=self.cycle_id,
                proposal_version=c.proposal_version,
                approve=True,
                meeting_reference="厅党组会〔2026〕18次",
                opinion="同意公示",
            )
        )

    async def publicity(self) -> None:
        """A real-name objection during publicity, investigated and dismissed; then the announcement."""
        d = self.d
        await self.until("PUBLICITY")
        self.proposal = proposal = (
            await d.stub("sd.industry", "review").GetProposal(rpb.GetProposalRequest(cycle_id=self.cycle_id))
        ).proposal
        target = next(line for line in proposal.lines if line.amount_fen > 0)
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
        await d.stub("sd.industry", "review").RecordInvestigation(
            rpb.RecordInvestigationRequest(
                objection_id=obj.objection_id,
                upheld=False,
                findings="经现场核查，算力规模属实，异议不成立",
                investigator="省工信厅数据处 王某某",
                evidence=["算力设备清单及采购发票", "现场核查记录"],
                reply_to_objector="经现场核查，该单位算力规模属实，异议不成立",
                reply_to_applicant="异议经调查不成立，公示结果不变",
                investigated_on=beijing_date(now_utc()).isoformat(),
            )
        )
        say("  publicity: 1 real-name objection filed and investigated (dismissed)")
        await self.retry(
            lambda: d.stub("sd.industry", "intake").DecidePublicityOutcome(
                inpb.DecidePublicityOutcomeRequest(
                    cycle_id=self.cycle_id, announcement_document_no="鲁工信数据〔2026〕88号"
                )
            )
        )

    async def supervision(self) -> inpb.Cycle:
        d = self.d
        await self.until("SUPERVISING")
        awarded = [line for line in self.proposal.lines if line.amount_fen > 0]
        by_app = {self.app_ids[n]: i for i, (n, *_r) in enumerate(ENTERPRISES)}
        for line in awarded:
            who = f"applicant{by_app[line.application_id] + 1:02d}"
            sv = d.stub(who, "supervision")
            targets = (
                await sv.ListPerformanceTargets(
                    spb.ListPerformanceTargetsRequest(
                        cycle_id=self.cycle_id, application_id=line.application_id
                    )
                )
            ).targets
            await sv.SubmitMonitoringReport(
                spb.SubmitMonitoringReportRequest(
                    cycle_id=self.cycle_id,
                    application_id=line.application_id,
                    values=[spb.ReportedValue(target_id=t.target_id, value=t.target_value) for t in targets],
                    narrative="年度绩效目标按计划推进，资金专款专用。",
                )
            )
            await d.stub("sd.industry", "supervision").RecordEvaluation(
                spb.RecordEvaluationRequest(
                    cycle_id=self.cycle_id,
                    application_id=line.application_id,
                    grade=spb.EVALUATION_GRADE_GOOD,
                    comments="绩效良好",
                )
            )
        await self.retry(
            lambda: d.stub("sd.industry", "intake").ConcludeSupervision(
                inpb.ConcludeSupervisionRequest(cycle_id=self.cycle_id, summary="年度绩效评价完成")
            )
        )
        return await self.until("CLOSED")

    async def award_table(self) -> None:
        d = self.d
        proposal = (
            await d.stub("sd.industry", "review").GetProposal(rpb.GetProposalRequest(cycle_id=self.cycle_id))
        ).proposal
        budget = (
            await d.stub("sd.finance", "funding").GetBudget(fpb.GetBudgetRequest(cycle_id=self.cycle_id))
        ).budget
        say("")
        say(f"Award table / 奖补名单 — cycle {self.cycle_id}, proposal v{proposal.version}")
        say(f"{'rank':>4}  {'enterprise':<26}{'city':<8}{'score':>7}  {'tier':<18}{'amount (万元)':>12}")
        for line in proposal.lines:
            tier = "reserve 备选" if line.reserve else TIER_ZH.get(line.tier, "—")
            say(
                f"{line.rank:>4}  {line.enterprise_name:<26}{CITIES.get(line.city_code, line.city_code):<8}{line.final_score:>7}  {tier:<18}{format_wan_yuan(line.amount_fen):>12}"
            )
        say(
            f"budget {format_wan_yuan(budget.total_fen)} 万元 · disbursed {format_wan_yuan(budget.disbursed_fen)} 万元 · available {format_wan_yuan(budget.available_fen)} 万元"
        )
        out = d.settings.data_dir / "exports"
        out.mkdir(parents=True, exist_ok=True)
        for fmt in (rpb.EXPORT_FORMAT_XLSX, rpb.EXPORT_FORMAT_PDF):
            f = await d.stub("sd.industry", "review").ExportProposal(
                rpb.ExportProposalRequest(cycle_id=self.cycle_id, version=proposal.version, format=fmt)
            )
            path = out / f.filename
            path.write_bytes(f.content)
            say(f"proposal export / 拟支持名单导出: {path}")
