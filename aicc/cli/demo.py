"""``aicc demo``: seed a demo province and drive one demo year, through every phase from PUBLISHED
to CLOSED, against a running suite — logging in as each role it plays. Exits 0 when CLOSED.

Seeding is idempotent (organisations by USCC, users by username), so it can run again against
the same suite; each run opens a new cycle ``demo-2026-<n>``.

Officials log in with a second factor: the demo keeps each official's TOTP secret (returned once by
CreateUser) in ``data_dir/secrets/demo-totp.json`` (0600) with the last time step it used (a code is
never reused), and the operator's from ``AICC_BOOTSTRAP_OPERATOR_TOTP_FILE`` or
``data_dir/secrets/operator-totp``. A session is reused while its token has minutes left.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import grpc

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.clients import open_channel, static_token, stub_for
from aicc.platform.money import format_wan_yuan
from aicc.platform.policy import default_policy_dir, load_policy_text
from aicc.platform.settings import Settings
from aicc.platform.status import read_error
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb
from services.identity.domain import second_factor
from services.identity.domain.uscc import make_uscc

CITIES = {"370100": "济南市", "370200": "青岛市", "370600": "烟台市"}
# (name, city, division, quality 0..1 that drives the experts' scores, story)
ENTERPRISES = [
    ("浪潮智算工业AI有限公司", "370100", "370102", 0.96, ""),
    ("齐鲁工业大模型科技有限公司", "370100", "370112", 0.86, ""),
    ("泉城智能制造服务有限公司", "370100", "370104", 0.78, "not_recommended"),
    ("海尔卡奥斯AI赋能有限公司", "370200", "370212", 0.95, ""),
    ("青岛港智能体科技有限公司", "370200", "370211", 0.84, ""),
    ("青岛工业语料治理有限公司", "370200", "370203", 0.74, ""),
    ("烟台万华智造AI有限公司", "370600", "370602", 0.93, ""),
    ("烟台海洋装备智算有限公司", "370600", "370613", 0.82, "non_compliant"),
    ("烟台信用瑕疵科技有限公司", "370600", "370611", 0.90, "dishonest"),
    ("胶东半岛AI能力中心有限公司", "370600", "370687", 0.88, ""),
]
EXPERTS = [
    ("zhang.wei", "张伟", "山东大学", ["ai", "manufacturing"]),
    ("li.na", "李娜", "中国海洋大学", ["ai", "data"]),
    ("wang.qiang", "王强", "山东科技大学", ["compute"]),
    ("liu.yang", "刘洋", "齐鲁工业大学", ["security"]),
    ("chen.jing", "陈静", "青岛大学", ["ai"]),
    ("zhao.lei", "赵磊", "烟台大学", ["manufacturing"]),
    ("sun.li", "孙丽", "山东财经大学", ["finance"]),
    ("zhou.min", "周敏", "山东师范大学", ["ai"]),
]
PHASE_ZH = {
    "PUBLISHED": "发布申报通知",
    "APPLYING": "企业申报",
    "CITY_REVIEW": "市级审核推荐",
    "COMPLIANCE_REVIEW": "省级合规性审核",
    "EXPERT_REVIEW": "专家评审",
    "PROPOSAL": "拟支持名单",
    "FINANCE_CONCURRENCE": "财政厅会签",
    "PARTY_GROUP_APPROVAL": "党组会审议",
    "PUBLICITY": "公示",
    "ANNOUNCED": "发文公布",
    "DISBURSING": "资金拨付",
    "SUPERVISING": "绩效监管",
    "CLOSED": "年度结束",
}
TIER_ZH = {rpb.TIER_EXCELLENT: "卓越级 excellent", rpb.TIER_ADVANCED: "先进级 advanced", rpb.TIER_NONE: "—"}


def say(msg: str) -> None:
    print(msg, flush=True)


@dataclass
class Session:
    username: str
    token: str
    user: ipb.User
    expires_at: datetime | None = None
    _stubs: dict = field(default_factory=dict)


class Demo:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.password = self._demo_password()
        self.sessions: dict[str, Session] = {}
        self.channels: list = []
        self.orgs: dict[str, ipb.Organization] = {}
        self.operators: dict[str, ipb.Organization] = {}
        self.totp_path = settings.data_dir / "secrets" / "demo-totp.json"
        self.totp = json.loads(self.totp_path.read_text()) if self.totp_path.exists() else {}
        self.totp.setdefault("secrets", {})
        self.totp.setdefault("last_step", {})

    def _save_totp(self) -> None:
        self.totp_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.totp_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.totp, f, indent=1, sort_keys=True)
        os.replace(tmp, self.totp_path)

    def _totp_secret(self, username: str) -> str | None:
        s = self.settings
        if username == s.bootstrap_operator_username:
            path = s.bootstrap_operator_totp_file or (s.data_dir / "secrets" / "operator-totp")
            return second_factor.read_secret_file(path) if path.exists() else None
        return self.totp["secrets"].get(username)

    async def _totp_code(self, username: str) -> str:
        """A code of a time step this demo has not used for the user yet (the next step's code is
        accepted too; beyond that, wait for the clock)."""
        secret = self._totp_secret(username)
        if not secret:
            return ""
        while True:
            now = second_factor.step_at(datetime.now(UTC))
            step = max(now, self.totp["last_step"].get(username, now - 1) + 1)
            if step <= now + 1:
                self.totp["last_step"][username] = step
                self._save_totp()
                return second_factor.code_at_step(secret, step)
            await asyncio.sleep(1)

    def _demo_password(self) -> str:
        from aicc.platform.secrets import dev_secret

        return dev_secret(self.settings.data_dir, "demo-password") + "-Aa1"

    def operator_password(self) -> str:
        s = self.settings
        if s.bootstrap_operator_password:
            return s.bootstrap_operator_password
        path = s.data_dir / "secrets" / "operator-password"
        if not path.exists():
            raise SystemExit(
                f"no operator credentials: set AICC_BOOTSTRAP_OPERATOR_PASSWORD or run against `aicc up` ({path})"
            )
        return path.read_text().strip()

    def stub(self, who: str, service: str):
        sess = self.sessions[who]
        if service not in sess._stubs:
            ch = open_channel(self.settings.address(service), static_token(sess.token))
            self.channels.append(ch)
            sess._stubs[service] = stub_for(service, ch)
        return sess._stubs[service]

    async def login(self, username: str, password: str | None = None) -> Session:
        current = self.sessions.get(username)
        if current and current.expires_at and current.expires_at - datetime.now(UTC) > timedelta(minutes=5):
            return current  # one login per user: an official's code may not be used twice
        ch = open_channel(self.settings.address("identity"))
        try:
            from aicc.identity.v1 import identity_pb2_grpc

            resp = await identity_pb2_grpc.IdentityServiceStub(ch).Login(
                ipb.LoginRequest(
                    username=username,
                    password=password or self.password,
                    totp_code=await self._totp_code(username),
                ),
                timeout=15,
            )
        finally:
            await ch.close(None)
        s = Session(username, resp.access_token, resp.user, resp.expires_at.ToDatetime(tzinfo=UTC))
        self.sessions[username] = s
        return s

    async def close(self) -> None:
        for ch in self.channels:
            await ch.close()

    # ------------------------------------------------------------------ seeding

    async def _org(
        self,
        uscc: str,
        name: str,
        kind: ipb.OrganizationKind.ValueType,
        *,
        legal_person=True,
        parent="",
        city="",
    ) -> ipb.Organization:
        idn = self.stub("operator", "identity")
        found = (await idn.ListOrganizations(ipb.ListOrganizationsRequest(uscc=uscc))).organizations
        if found:
            return found[0]
        return (
            await idn.CreateOrganization(
                ipb.CreateOrganizationRequest(
                    uscc=uscc,
                    name=name,
                    kind=kind,
                    legal_person=legal_person,
                    parent_organization_id=parent,
                    city_code=city,
                )
            )
        ).organization

    async def _user(self, username: str, name: str, roles: list[str], org: str = "", city: str = "") -> None:
        try:
            resp = await self.stub("operator", "identity").CreateUser(
                ipb.CreateUserRequest(
                    username=username,
                    display_name=name,
                    password=self.password,
                    roles=roles,
                    organization_id=org,
                    city_code=city,
                )
            )
            if resp.totp_secret:  # returned once: keep it to compute this official's codes
                self.totp["secrets"][username] = resp.totp_secret
                self.totp["last_step"].pop(username, None)
                self._save_totp()
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise

    async def seed(self) -> None:
        # The platform operator (bootstrap account) registers organisations and accounts.
        self.sessions["operator"] = await self.login(
            self.settings.bootstrap_operator_username, self.operator_password()
        )
        province = await self._org(
            make_uscc("370000", 11, authority="1", category="1"),
            "山东省工业和信息化厅",
            ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
            city="370000",
        )
        finance = await self._org(
            make_uscc("370000", 12, authority="1", category="1"),
            "山东省财政厅",
            ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
            city="370000",
        )
        await self._user(
            "sd.industry", "省工信厅 王处长", ["province_industry"], province.organization_id, "370000"
        )
        await self._user(
            "sd.finance", "省财政厅 李处长", ["province_finance"], finance.organization_id, "370000"
        )
        await self._user(
            "sd.partygroup", "厅党组会 记录人", ["party_group"], province.organization_id, "370000"
        )
        await self._user("sd.auditor", "省审计厅 审计员", ["auditor"], "", "370000")
        for i, (code, city) in enumerate(CITIES.items()):
            ind = await self._org(
                make_uscc(code, 100 + i, authority="1", category="1"),
                f"{city}工业和信息化局",
                ipb.ORGANIZATION_KIND_CITY_BUREAU,
            )
            fin = await self._org(
                make_uscc(code, 200 + i, authority="1", category="1"),
                f"{city}财政局",
                ipb.ORGANIZATION_KIND_CITY_BUREAU,
            )
            await self._user(
                f"{code}.industry", f"{city}工信局", ["city_industry"], ind.organization_id, code
            )
            await self._user(f"{code}.finance", f"{city}财政局", ["city_finance"], fin.organization_id, code)
        for i, (name, _city, division, _q, _story) in enumerate(ENTERPRISES):
            org = await self._org(make_uscc(division, 1000 + i), name, ipb.ORGANIZATION_KIND_ENTERPRISE)
            op = await self._org(
                make_uscc(division, 5000 + i),
                f"{name}运营中心",
                ipb.ORGANIZATION_KIND_OPERATOR_ORG,
                parent=org.organization_id,
            )
            self.orgs[name], self.operators[name] = org, op
            await self._user(f"applicant{i + 1:02d}", f"{name} 申报专员", ["applicant"], org.organization_id)
        # Art. 5 registry facts: every enterprise meets the green threshold; one has a serious dishonesty record.
        await self.login("sd.industry")
        idn = self.stub("sd.industry", "identity")
        green = ["uscc,meets,as_of,source"] + [
            f"{o.uscc},true,2026-01-01,省发展改革委绿色门槛名单" for o in self.orgs.values()
        ]
        await idn.ImportRegistryRecords(
            ipb.ImportRegistryRecordsRequest(
                kind=ipb.REGISTRY_KIND_GREEN_THRESHOLD, csv_text="\n".join(green)
            )
        )
        dishonest = next(self.orgs[n] for n, *_rest, s in ENTERPRISES if s == "dishonest")
        try:
            await idn.RecordCreditRecord(
                ipb.RecordCreditRecordRequest(
                    uscc=dishonest.uscc,
                    severity="serious_dishonesty",
                    start_date="2025-03-01",
                    source="信用中国（山东）",
                    reference="鲁信失〔2025〕37号",
                )
            )
        except grpc.aio.AioRpcError:
            pass
        for i, (username, name, employer, fields) in enumerate(EXPERTS):
            emp = await self._org(
                make_uscc("370102", 8000 + i, authority="1", category="2"),
                employer,
                ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER,
            )
            await self._user(username, f"专家 {name}", ["expert"], "", "370000")
            sess = await self.login(username)
            try:
                employment = [
                    ipb.EmploymentRecord(organization_id=emp.organization_id, start_date="2015-09-01")
                ]
                if i == 0:  # a conflict the panel draw must exclude: consulted for an applicant last year
                    consulting = [
                        ipb.ConsultingEngagement(
                            organization_id=self.orgs[ENTERPRISES[0][0]].organization_id,
                            start_date="2025-01-01",
                            end_date="2025-12-31",
                        )
                    ]
                else:
                    consulting = []
                await self.stub("sd.industry", "identity").RegisterExpert(
                    ipb.RegisterExpertRequest(
                        user_id=sess.user.user_id,
                        fields=fields,
                        employer_organization_id=emp.organization_id,
                        employment=employment,
                        consulting=consulting,
                    )
                )
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        say(
            f"  seeded: {len(CITIES)} cities, {len(ENTERPRISES)} enterprises, {len(EXPERTS)} experts, officials of each city and of the province"
        )


# ---------------------------------------------------------------------- the year


def _phase(c: inpb.Cycle) -> str:
    return inpb.CyclePhase.Name(c.phase).removeprefix("CYCLE_PHASE_")


class Year:
    def __init__(self, demo: Demo, cycle_id: str) -> None:
        self.d = demo
        self.cycle_id = cycle_id
        self.seen = 0
        self.started = time.monotonic()

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
        d = self.d
        policy_text = (default_policy_dir() / "demo.yaml").read_text(encoding="utf-8")
        policy = load_policy_text(policy_text, source="demo.yaml")
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

        # Drafts may be prepared as soon as the call is published.
        app_ids: dict[str, str] = {}
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

        # City review: both bureaus of each city sign the same joint recommendation.
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
        c = await self.until("COMPLIANCE_REVIEW", "CLOSED")
        if _phase(c) == "CLOSED":
            return c

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
        await self.until("EXPERT_REVIEW")

        # Experts: declare, then score their assignments.
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
                rng = random.Random(f"{username}:{asg.application_id}")
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
        await self.until("PUBLICITY")
        # A real-name objection during publicity, investigated and dismissed.
        proposal = (
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
                objection_id=obj.objection_id, upheld=False, findings="经现场核查，算力规模属实，异议不成立"
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
        await self.until("SUPERVISING")
        awarded = [line for line in proposal.lines if line.amount_fen > 0]
        by_app = {app_ids[n]: i for i, (n, *_r) in enumerate(ENTERPRISES)}
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


async def _drive(settings: Settings) -> int:
    demo = Demo(settings)
    try:
        say("▶ demo: seeding the province")
        await demo.seed()
        await demo.login("sd.industry")
        for username, *_rest in EXPERTS:
            await demo.login(username)
        existing = (await demo.stub("sd.industry", "intake").ListCycles(inpb.ListCyclesRequest())).cycles
        n = 1 + sum(1 for c in existing if c.cycle_id.startswith("demo-2026-"))
        year = Year(demo, f"demo-2026-{n}")
        say("▶ demo: driving a year through every phase")
        final = await year.run()
        await demo.login("sd.finance")
        await year.award_table()
        if _phase(final) != "CLOSED":
            return 1
        say(f"cycle {year.cycle_id} CLOSED in {time.monotonic() - year.started:.1f}s")
        return 0
    except grpc.aio.AioRpcError as e:
        say(f"✗ demo stopped: {read_error(e)}")
        return 1
    except TimeoutError as e:
        say(f"✗ demo stopped: {e}")
        return 1
    finally:
        await demo.close()


def drive(settings: Settings) -> int:
    return asyncio.run(_drive(settings))


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="seed a demo province and drive a demo year against a running suite")
    p.set_defaults(func=run)


def run(args) -> int:
    from aicc.platform.settings import get_settings

    code = drive(get_settings())
    sys.stdout.flush()
    return code
