"""The authorisation matrix over real gRPC: all five services in process (a Temporal dev server and
the real cycle worker behind intake), two cities with two enterprises each, officials of each city,
the province's roles, two experts, an auditor and the three administrators.

Table-driven cases:
- every RPC × every role its rule does not name → PERMISSION_DENIED (the role gate);
- every mutating RPC with an auditor's token → PERMISSION_DENIED (the auditor changes nothing);
- the auditor reads every read RPC with a real request;
- every RPC that takes an object, called by (a) another organisation's applicant, (b) an official of
  another city, (c) a wrong role → PERMISSION_DENIED or NOT_FOUND and nothing of the object in the
  answer; list RPCs answer without the other's records; the owner's own call works (control);
- experts: another expert's assignment looks missing, scoring needs the no-conflict declaration;
- a city's recommendation needs both city_industry and city_finance.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp

from aicc.audit.v1 import audit_pb2 as apb
from aicc.audit.v1 import audit_pb2_grpc
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform import authz
from aicc.platform.authz import RULES
from aicc.platform.clients import Clients
from aicc.platform.policy import default_policy_dir, find_policy
from aicc.platform.status import read_error
from aicc.review.v1 import review_pb2 as rpb
from aicc.supervision.v1 import supervision_pb2 as spb
from services.identity.domain.uscc import make_uscc
from tests.support.suite import InProcessSuite, free_port, suite_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

PW = "matrix-password-123"
JINAN, QINGDAO = "370100", "370200"
DIVISION = {JINAN: "370102", QINGDAO: "370212"}
ENTERPRISES = {"J1": JINAN, "J2": JINAN, "Q1": QINGDAO, "Q2": QINGDAO}
SERVICE_OF = {"ID": "identity", "IN": "intake", "RV": "review", "FU": "funding", "SU": "supervision"}
PB = {"audit": apb, "identity": ipb, "intake": inpb, "review": rpb, "funding": fpb, "supervision": spb}
PREFIX = {
    "identity": authz.ID,
    "intake": authz.IN,
    "review": authz.RV,
    "funding": authz.FU,
    "supervision": authz.SU,
}
DENIED = {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND}

# One user per role (the applicant of J1 and the Jinan officials stand for their roles).
ROLE_USER = {
    authz.APPLICANT: "app_J1",
    authz.CITY_INDUSTRY: "jn_ind",
    authz.CITY_FINANCE: "jn_fin",
    authz.PROVINCE_INDUSTRY: "prov_ind",
    authz.PROVINCE_FINANCE: "prov_fin",
    authz.PARTY_GROUP: "party",
    authz.EXPERT: "expert1",
    authz.AUDITOR: "auditor",
    authz.SYSTEM_ADMIN: "sysadmin",
    authz.SECURITY_ADMIN: "secadmin",
    authz.AUDIT_ADMIN: "auditadmin",
    authz.SYSTEM: "system",
    authz.AUDIT_ADMIN: "audit_admin",
}

CYCLE_IN, CYCLE_RV, CYCLE_PUB, CYCLE_FU = "mx-intake", "mx-review", "mx-publicity", "mx-funding"
FISCAL_YEAR = datetime.now(UTC).year  # the appropriation the matrix's budgets draw from
FINANCE_OPINION = "secret-finance-opinion"
CYCLE_ANN = "mx-announced"  # review: publicised without change and announced
CYCLE_SU = "mx-supervised"  # supervision: concluded
SUPERVISION_SUMMARY = "矩阵年度绩效监管结论"
# intake's records of a year (issue 9): recommendations of both cities and a decision, recorded by the
# workflow's own (system) RPCs on a cycle written straight into intake's store.
CYCLE_REC = "mx-intake-records"
REC_DOC = {JINAN: "济工信联字〔2026〕矩阵1号", QINGDAO: "青工信联字〔2026〕矩阵1号"}


def stamp(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


def fast_policy_yaml() -> str:
    """The demo policy with the window opening at once and a long city review (no deadline during the test)."""
    text = (default_policy_dir() / "demo.yaml").read_text(encoding="utf-8")
    for key, value in {
        "applications_open_after": "PT1S",
        "application_window": "PT6S",
        "city_review": "PT600S",
    }.items():
        text, n = re.subn(rf"^(\s*{key}:\s*)\S+", rf"\g<1>{value}", text, flags=re.M)
        assert n == 1, key
    return text


def review_policy_json() -> str:
    data = find_policy("shandong-2026").to_jsonable()
    data["panel"] = {"size": 1, "max_load_per_expert": 2, "conflict_lookback_years": 3}
    return json.dumps(data, ensure_ascii=False)


def score_sheet(fraction: str) -> list[rpb.IndicatorScore]:
    policy = find_policy("shandong-2026")
    f = Decimal(fraction)
    return [
        rpb.IndicatorScore(
            indicator_id=i,
            points=str((policy.indicator(i).max_points * f).quantize(Decimal("0.01"))),
            justification="依据申报材料评分",
        )
        for i in policy.indicator_ids()
    ]


@dataclass
class World:
    suite: InProcessSuite
    tokens: dict[str, str] = field(default_factory=dict)  # user key -> token
    users: dict[str, str] = field(default_factory=dict)  # user key -> user_id
    orgs: dict[str, str] = field(default_factory=dict)  # enterprise key (and key-op) -> organization_id
    apps: dict[str, str] = field(default_factory=dict)  # enterprise key -> intake application_id
    assignments: dict[str, list[str]] = field(default_factory=dict)  # expert key -> assignment ids (CYCLE_RV)
    objection: str = ""
    disbursements: dict[str, str] = field(default_factory=dict)  # enterprise key -> disbursement_id
    targets: dict[str, list[str]] = field(default_factory=dict)  # enterprise key -> target ids
    recommendation: dict[str, object] = field(default_factory=dict)
    _stubs: dict = field(default_factory=dict)

    def stub(self, service: str, user: str):
        key = (service, user)
        if key not in self._stubs and service == "audit":  # on every service's port; identity's here
            self.suite.stub("identity", self.tokens[user])
            channel = self.suite._channels[-1]
            self._stubs[key] = audit_pb2_grpc.AuditServiceStub(channel)
        if key not in self._stubs:
            self._stubs[key] = self.suite.stub(service, self.tokens[user])
        return self._stubs[key]

    @staticmethod
    def name(k: str) -> str:
        return f"矩阵{k}智算有限公司"

    @staticmethod
    def title(k: str) -> str:
        return f"{k} 工业AI能力中心 secret-title-{k}"

    def rv_app(self, cycle: str, k: str) -> str:
        return f"{cycle}-{k.lower()}"


async def _wait_phase(w: World, phase: str, within: float = 30) -> None:
    prov = w.stub("intake", "prov_ind")
    deadline = asyncio.get_running_loop().time() + within
    while True:
        c = (await prov.GetCycle(inpb.GetCycleRequest(cycle_id=CYCLE_IN))).cycle
        if inpb.CyclePhase.Name(c.phase) == f"CYCLE_PHASE_{phase}":
            return
        assert asyncio.get_running_loop().time() < deadline, (
            f"cycle stayed in {inpb.CyclePhase.Name(c.phase)}"
        )
        await asyncio.sleep(0.2)


async def seed(w: World) -> None:  # noqa: C901 - the matrix world, built in one pass
    s = w.suite
    for role in (authz.SYSTEM_ADMIN, authz.SECURITY_ADMIN, authz.AUDIT_ADMIN):
        w.tokens[ROLE_USER[role]] = await s.admin_token(role)
    w.tokens["system"] = await s.worker_token()
    ident = await s.admin()

    async def org(key: str, division: str, serial: int, kind, name: str, parent: str = "") -> None:
        o = await ident.CreateOrganization(
            ipb.CreateOrganizationRequest(
                uscc=make_uscc(division, serial),
                name=name,
                kind=kind,
                legal_person=True,
                parent_organization_id=parent,
            )
        )
        w.orgs[key] = o.organization.organization_id

    async def user(key: str, roles: list[str], *, org_key: str = "", city: str = "") -> None:
        u = await ident.CreateUser(
            ipb.CreateUserRequest(
                username=key,
                display_name=f"用户{key}",
                password=PW,
                roles=roles,
                organization_id=w.orgs.get(org_key, ""),
                city_code=city,
            )
        )
        w.users[key] = u.user.user_id
        w.tokens[key] = await s.login(key, PW)

    for i, (k, city) in enumerate(ENTERPRISES.items()):
        await org(k, DIVISION[city], 500 + i, ipb.ORGANIZATION_KIND_ENTERPRISE, w.name(k))
        await org(
            f"{k}-op",
            DIVISION[city],
            600 + i,
            ipb.ORGANIZATION_KIND_OPERATOR_ORG,
            f"{w.name(k)}运营公司",
            w.orgs[k],
        )
        await user(f"app_{k}", [authz.APPLICANT], org_key=k)
    await org("univ", "370102", 700, ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER, "矩阵大学")
    for key, role, city in (
        ("jn_ind", authz.CITY_INDUSTRY, JINAN),
        ("jn_fin", authz.CITY_FINANCE, JINAN),
        ("qd_ind", authz.CITY_INDUSTRY, QINGDAO),
        ("qd_fin", authz.CITY_FINANCE, QINGDAO),
    ):
        await user(key, [role], city=city)
    for key, role in (
        ("prov_ind", authz.PROVINCE_INDUSTRY),
        ("prov_fin", authz.PROVINCE_FINANCE),
        ("party", authz.PARTY_GROUP),
        ("auditor", authz.AUDITOR),
        ("audit_admin", authz.AUDIT_ADMIN),
    ):
        await user(key, [role])
    for key in ("expert1", "expert2"):
        await user(key, [authz.EXPERT])
        await ident.RegisterExpert(
            ipb.RegisterExpertRequest(
                user_id=w.users[key], fields=["ai"], employer_organization_id=w.orgs["univ"]
            )
        )
    prov_id = w.stub("identity", "prov_ind")
    today = datetime.now(UTC).date().isoformat()
    for i, k in enumerate(ENTERPRISES):
        await prov_id.RecordGreenThreshold(
            ipb.RecordGreenThresholdRequest(
                uscc=make_uscc(DIVISION[ENTERPRISES[k]], 500 + i),
                meets=True,
                as_of_date=today,
                source="matrix",
            )
        )

    # funding: province finance opens this year's (and next year's) appropriation, which the
    # cycles' budgets draw from.
    for year in (FISCAL_YEAR, FISCAL_YEAR + 1):
        await w.stub("funding", "prov_fin").OpenAppropriation(
            fpb.OpenAppropriationRequest(
                fiscal_year=year,
                budget_document_no=f"鲁财工指〔{year}〕1号",
                amount_fen=100_000_000_00,
                performance_targets="矩阵测试绩效目标",
            )
        )

    # intake: a real cycle (workflow on the worker) with one draft per enterprise, all submitted.
    await w.stub("intake", "prov_ind").CreateCycle(
        inpb.CreateCycleRequest(cycle_id=CYCLE_IN, title="矩阵测试年度", policy_yaml=fast_policy_yaml())
    )
    for k in ENTERPRISES:
        a = await w.stub("intake", f"app_{k}").CreateApplication(
            inpb.CreateApplicationRequest(
                cycle_id=CYCLE_IN,
                organization_id=w.orgs[k],
                operator_organization_id=w.orgs[f"{k}-op"],
                title=w.title(k),
                service_lines=["compute"],
                materials=[
                    inpb.Material(
                        kind="application_form", filename="申报书.pdf", sha256="a" * 64, size_bytes=1
                    )
                ],
            )
        )
        w.apps[k] = a.application.application_id
    await _wait_phase(w, "APPLYING")
    for k in ENTERPRISES:
        await w.stub("intake", f"app_{k}").SubmitApplication(
            inpb.SubmitApplicationRequest(
                application_id=w.apps[k],
                declaration=inpb.AuthenticityDeclaration(
                    signer_name="法定代表人", signer_title="法定代表人", accepted=True
                ),
            )
        )

    # review, funding and supervision: seeded directly with the workflow's own (system) RPCs.
    rv = w.stub("review", "system")
    base = datetime(2026, 5, 1, tzinfo=UTC)
    for cycle in (CYCLE_RV, CYCLE_PUB, CYCLE_ANN):
        cands = [
            rpb.Candidate(
                application_id=w.rv_app(cycle, k),
                organization_id=w.orgs[k],
                operator_organization_id=w.orgs[f"{k}-op"],
                enterprise_name=w.name(k),
                city_code=city,
                submitted_at=stamp(base + timedelta(hours=i)),
                materials=[
                    rpb.Material(
                        material_id=f"mat-{k}",
                        kind="application_form",
                        filename=f"secret-material-{k}.pdf",
                        sha256="0" * 64,
                        size_bytes=1024,
                    )
                ],
            )
            for i, (k, city) in enumerate(ENTERPRISES.items())
        ]
        await rv.OpenReview(
            rpb.OpenReviewRequest(cycle_id=cycle, policy_json=review_policy_json(), candidates=cands)
        )
        await rv.RecordComplianceDecisions(
            rpb.RecordComplianceDecisionsRequest(
                cycle_id=cycle,
                decisions=[
                    rpb.ComplianceReview(
                        application_id=c.application_id,
                        compliant=True,
                        decided_by=w.users["prov_ind"],
                        decided_at=stamp(base),
                    )
                    for c in cands
                ],
            )
        )
        draw = await rv.DrawPanels(rpb.DrawPanelsRequest(cycle_id=cycle, seed=4242))
        by_expert: dict[str, list[str]] = {}
        for a in draw.assignments:
            key = next(k for k in ("expert1", "expert2") if w.users[k] == a.expert_user_id)
            by_expert.setdefault(key, []).append(a.assignment_id)
        assert set(by_expert) == {"expert1", "expert2"}, "each expert has assignments"
        if cycle == CYCLE_RV:
            w.assignments = by_expert
            await w.stub("review", "prov_ind").RecordOnSiteReview(
                rpb.RecordOnSiteReviewRequest(
                    cycle_id=cycle,
                    application_id=w.rv_app(cycle, "J1"),
                    kind=rpb.ON_SITE_REVIEW_KIND_SITE_VISIT,
                    held_on=datetime.now(UTC).date().isoformat(),
                    participants=["张三（省工信厅）"],
                    findings="secret-site-findings",
                )
            )
            continue
        for key, ids in by_expert.items():  # the publicity cycle: scored, proposed, publicised
            ex = w.stub("review", key)
            for aid in ids:
                await ex.DeclareConflict(rpb.DeclareConflictRequest(assignment_id=aid, has_conflict=False))
                await ex.SubmitScoreSheet(
                    rpb.SubmitScoreSheetRequest(assignment_id=aid, scores=score_sheet("0.95"))
                )
        await rv.ComputeProposal(rpb.ComputeProposalRequest(cycle_id=cycle))
        await rv.OpenPublicity(
            rpb.OpenPublicityRequest(
                cycle_id=cycle, proposal_version=1, ends_at=stamp(datetime.now(UTC) + timedelta(days=5))
            )
        )
        if cycle == CYCLE_ANN:
            await rv.ClosePublicity(rpb.ClosePublicityRequest(cycle_id=cycle))
            await rv.RecordAnnouncement(
                rpb.RecordAnnouncementRequest(
                    cycle_id=cycle, document_no="矩阵〔2026〕1号", announced_by="system"
                )
            )
            continue
        obj = await w.stub("review", "app_Q1").FileObjection(
            rpb.FileObjectionRequest(
                cycle_id=cycle,
                application_id=w.rv_app(cycle, "J1"),
                objector_name="秘密异议人",
                objector_contact="13900000042",
                content="secret-objection-content",
            )
        )
        w.objection = obj.objection.objection_id

    fu = w.stub("funding", "system")
    await fu.OpenBudget(
        fpb.OpenBudgetRequest(
            cycle_id=CYCLE_FU,
            total_fen=10_000_000_00,
            fiscal_year=FISCAL_YEAR,
            caps=[
                fpb.TierCap(tier="excellent", cap_fen=2_000_000_00),
                fpb.TierCap(tier="advanced", cap_fen=1_000_000_00),
            ],
        )
    )
    fu_lines = [
        fpb.ReservationLine(
            application_id=w.rv_app(CYCLE_FU, k),
            organization_id=w.orgs[k],
            amount_fen=1_000_000_00,
            city_code=c,
            tier="advanced",
        )
        for k, c in ENTERPRISES.items()
    ]
    await w.stub("funding", "prov_fin").RecordFinanceConcurrence(
        fpb.RecordFinanceConcurrenceRequest(
            cycle_id=CYCLE_FU, proposal_version=1, agree=True, opinion=FINANCE_OPINION, lines=fu_lines
        )
    )
    await fu.ReserveFunds(fpb.ReserveFundsRequest(cycle_id=CYCLE_FU, proposal_version=1, lines=fu_lines))
    for k, c in ENTERPRISES.items():
        d = await fu.DisburseAward(
            fpb.DisburseAwardRequest(
                cycle_id=CYCLE_FU,
                application_id=w.rv_app(CYCLE_FU, k),
                organization_id=w.orgs[k],
                amount_fen=1_000_000_00,
                idempotency_key=f"{CYCLE_FU}:{k}:1",
                city_code=c,
            )
        )
        w.disbursements[k] = d.disbursement.disbursement_id
    targets = await w.stub("supervision", "system").CreatePerformanceTargets(
        spb.CreatePerformanceTargetsRequest(
            cycle_id=CYCLE_FU,
            awards=[
                spb.AwardRef(
                    application_id=w.rv_app(CYCLE_FU, k),
                    organization_id=w.orgs[k],
                    amount_fen=1_000_000_00,
                    city_code=c,
                )
                for k, c in ENTERPRISES.items()
            ],
            templates=[
                spb.TargetTemplate(
                    code="firms_served", description="服务企业数", unit="家", target_value="50"
                )
            ],
        )
    )
    for t in targets.targets:
        k = next(k for k in ENTERPRISES if w.rv_app(CYCLE_FU, k) == t.application_id)
        w.targets.setdefault(k, []).append(t.target_id)
    # a concluded supervision (a cycle that ended without awards)
    su = w.stub("supervision", "system")
    await su.CreatePerformanceTargets(spb.CreatePerformanceTargetsRequest(cycle_id=CYCLE_SU))
    await su.RecordSupervisionConclusion(
        spb.RecordSupervisionConclusionRequest(
            conclusion=spb.SupervisionConclusion(
                cycle_id=CYCLE_SU, summary=SUPERVISION_SUMMARY, concluded_by=w.users["prov_ind"]
            )
        )
    )

    await seed_intake_records(w)

    # intake: the city review starts once the window (opened above) closes.
    await _wait_phase(w, "CITY_REVIEW")


async def seed_intake_records(w: World) -> None:
    """intake (issue 9): CYCLE_REC with each enterprise's application submitted, both cities'
    joint recommendations with each bureau's opinion, and one decision in the cycle's log."""
    from aicc.platform.db import unit_of_work
    from services.intake.domain.model import Application, ApplicationStatus, Cycle
    from services.intake.store import IntakeStore
    from workflows.cycle.models import Phase

    at = datetime(2026, 3, 2, tzinfo=UTC)
    async with unit_of_work(w.suite.hosts["intake"].runtime.db, IntakeStore)() as repo:
        await repo.add_cycle(
            Cycle(
                CYCLE_REC,
                "矩阵记录",
                "demo",
                "{}",
                "province",
                "370000",
                [],
                Phase.CITY_REVIEW,
                "",
                0,
                0,
                at,
                at,
                at,
                f"cycle-{CYCLE_REC}",
                "test",
                at,
            )
        )
        for k, city in ENTERPRISES.items():
            await repo.add_application(
                Application(
                    w.rv_app(CYCLE_REC, k),
                    CYCLE_REC,
                    w.orgs[k],
                    w.orgs[f"{k}-op"],
                    w.name(k),
                    city,
                    w.title(k),
                    ["compute"],
                    ApplicationStatus.SUBMITTED,
                    "test",
                    at,
                ),
                [],
            )
    system = w.stub("intake", "system")
    for city in (JINAN, QINGDAO):
        await system.RecordRecommendation(
            inpb.RecordRecommendationRequest(
                recommendation=inpb.Recommendation(
                    cycle_id=CYCLE_REC,
                    city_code=city,
                    document_no=REC_DOC[city],
                    items=[
                        inpb.RecommendationItem(
                            application_id=w.rv_app(CYCLE_REC, k),
                            recommended=True,
                            opinion=f"secret-opinion-{k}",
                            opinions=[
                                inpb.BureauOpinion(role=authz.CITY_INDUSTRY, opinion=f"secret-opinion-{k}"),
                                inpb.BureauOpinion(role=authz.CITY_FINANCE, opinion=f"secret-finance-{k}"),
                            ],
                        )
                        for k, c in ENTERPRISES.items()
                        if c == city
                    ],
                    signoffs=[
                        inpb.Signoff(
                            role=authz.CITY_INDUSTRY, user_id="u1", display_name="甲", signed_at=stamp(at)
                        ),
                        inpb.Signoff(
                            role=authz.CITY_FINANCE, user_id="u2", display_name="乙", signed_at=stamp(at)
                        ),
                    ],
                )
            )
        )
    await system.RecordCycleDecision(
        inpb.RecordCycleDecisionRequest(
            decision=inpb.CycleDecision(
                cycle_id=CYCLE_REC,
                kind=inpb.CYCLE_DECISION_KIND_FINANCE_CONCURRENCE,
                actor_user_id=w.users["prov_fin"],
                role=authz.PROVINCE_FINANCE,
                proposal_version=1,
                approve=True,
                opinion="secret-concurrence-opinion",
            ),
            idempotency_key="matrix:finance:v1",
        )
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    from temporalio.testing import WorkflowEnvironment

    from aicc.platform.temporal import connect
    from workflows.cycle.activities import ServiceAccountToken
    from workflows.cycle.worker import build_worker

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), port=free_port()
    )
    address = env.client.service_client.config.target_host
    settings = suite_settings(tmp_path_factory.mktemp("authz-matrix"), temporal_address=address)
    try:
        async with InProcessSuite(settings) as suite:
            token = ServiceAccountToken(settings)
            clients = Clients(settings, token_source=token)
            # the worker reads what intake writes: the same codec (the suite's dev key)
            worker = build_worker(await connect(settings, tracing=False), settings, clients)
            task = asyncio.create_task(worker.run())
            try:
                w = World(suite)
                await seed(w)
                yield w
            finally:
                await worker.shutdown()
                await asyncio.gather(task, return_exceptions=True)
                await clients.close()
                await token.close()
    finally:
        await env.shutdown()


# ------------------------------------------------------------------------------------ calling


async def call(w: World, service: str, method: str, user: str, request):
    return await getattr(w.stub(service, user), method)(request, timeout=20)


async def expect_denied(w: World, service: str, method: str, user: str, request, secrets=(), codes=DENIED):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(w, service, method, user, request)
    err = read_error(e.value)
    assert err.code in codes, f"{method} as {user}: {err.code} {err.message}"
    blob = f"{e.value.details()} {err.message} {err.message_zh} {err.metadata} {err.violations}"
    for s in secrets:
        assert s not in blob, f"{method} as {user}: the refusal reveals {s!r}"
    return err


def empty_request(full_method: str):
    svc, method = full_method.strip("/").split("/")
    package = svc.split(".")[1]
    desc = PB[package].DESCRIPTOR.services_by_name[svc.rsplit(".", 1)[1]].methods_by_name[method]
    return package, method, getattr(PB[package], desc.input_type.name)()


# ------------------------------------------------------------------------- 1. the role gate

ROLE_GATE = sorted(
    (m, role) for m, rule in RULES.items() if not rule.public for role in sorted(authz.ROLES - rule.roles)
)


@pytest.mark.parametrize(
    ("method", "role"), ROLE_GATE, ids=[f"{m.rsplit('/', 1)[1]}-{r}" for m, r in ROLE_GATE]
)
async def test_role_not_in_the_rule_is_denied(world, method, role):
    service, name, req = empty_request(method)
    await expect_denied(world, service, name, ROLE_USER[role], req, codes={grpc.StatusCode.PERMISSION_DENIED})


AUDITOR_WRITES = sorted(m for m, r in RULES.items() if r.mutating and not r.public)


@pytest.mark.parametrize("method", AUDITOR_WRITES, ids=[m.rsplit("/", 1)[1] for m in AUDITOR_WRITES])
async def test_auditor_changes_nothing(world, method):
    service, name, req = empty_request(method)
    await expect_denied(world, service, name, "auditor", req, codes={grpc.StatusCode.PERMISSION_DENIED})


# ------------------------------------------------------------------ 2. the auditor reads all


def _reads() -> dict[str, Callable[[World], object]]:
    today = datetime.now(UTC).date().isoformat()
    return {
        "ListJurisdictions": lambda w: ipb.ListJurisdictionsRequest(),
        "GetOrganization": lambda w: ipb.GetOrganizationRequest(organization_id=w.orgs["J1"]),
        "ListOrganizations": lambda w: ipb.ListOrganizationsRequest(),
        "GetUser": lambda w: ipb.GetUserRequest(user_id=w.users["app_J1"]),
        "ListExperts": lambda w: ipb.ListExpertsRequest(),
        "CheckEligibility": lambda w: ipb.CheckEligibilityRequest(
            organization_id=w.orgs["J1"], as_of_date=today
        ),
        "GetCycle": lambda w: inpb.GetCycleRequest(cycle_id=CYCLE_IN),
        "ListCycles": lambda w: inpb.ListCyclesRequest(),
        "GetApplication": lambda w: inpb.GetApplicationRequest(application_id=w.apps["J1"]),
        "ListApplications": lambda w: inpb.ListApplicationsRequest(cycle_id=CYCLE_IN),
        "ListRecommendations": lambda w: inpb.ListRecommendationsRequest(cycle_id=CYCLE_REC),
        "ListCycleDecisions": lambda w: inpb.ListCycleDecisionsRequest(cycle_id=CYCLE_REC),
        "GetCyclePolicy": lambda w: inpb.GetCyclePolicyRequest(cycle_id=CYCLE_IN),
        "ListAssignments": lambda w: rpb.ListAssignmentsRequest(cycle_id=CYCLE_RV),
        "GetProposal": lambda w: rpb.GetProposalRequest(cycle_id=CYCLE_PUB),
        "ExportProposal": lambda w: rpb.ExportProposalRequest(
            cycle_id=CYCLE_PUB, format=rpb.EXPORT_FORMAT_PDF
        ),
        "ListComplianceReviews": lambda w: rpb.ListComplianceReviewsRequest(cycle_id=CYCLE_RV),
        "ListOnSiteReviews": lambda w: rpb.ListOnSiteReviewsRequest(cycle_id=CYCLE_RV),
        "GetPanelDraw": lambda w: rpb.GetPanelDrawRequest(cycle_id=CYCLE_RV),
        "ListObjections": lambda w: rpb.ListObjectionsRequest(cycle_id=CYCLE_PUB),
        "ExportDocument": lambda w: rpb.ExportDocumentRequest(
            cycle_id=CYCLE_ANN, kind=rpb.DOCUMENT_KIND_ANNOUNCEMENT, format=rpb.EXPORT_FORMAT_XLSX
        ),
        "ListPublicityNotices": lambda w: rpb.ListPublicityNoticesRequest(cycle_id=CYCLE_PUB),
        "GetAnnouncement": lambda w: rpb.GetAnnouncementRequest(cycle_id=CYCLE_ANN),
        "GetBudget": lambda w: fpb.GetBudgetRequest(cycle_id=CYCLE_FU),
        "ListDisbursements": lambda w: fpb.ListDisbursementsRequest(cycle_id=CYCLE_FU),
        "ListLedgerEntries": lambda w: fpb.ListLedgerEntriesRequest(cycle_id=CYCLE_FU),
        "GetAppropriation": lambda w: fpb.GetAppropriationRequest(fiscal_year=FISCAL_YEAR),
        "ListAppropriations": lambda w: fpb.ListAppropriationsRequest(),
        "ListFinanceConcurrences": lambda w: fpb.ListFinanceConcurrencesRequest(cycle_id=CYCLE_FU),
        "GetSupervisionStatus": lambda w: spb.GetSupervisionStatusRequest(cycle_id=CYCLE_FU),
        "ListPerformanceTargets": lambda w: spb.ListPerformanceTargetsRequest(cycle_id=CYCLE_FU),
        "GetSupervisionConclusion": lambda w: spb.GetSupervisionConclusionRequest(cycle_id=CYCLE_SU),
    }


READS = _reads()
AUDITOR_READS = sorted(m for m, r in RULES.items() if authz.AUDITOR in r.roles)


async def test_every_auditor_read_has_a_case():
    assert {m.rsplit("/", 1)[1] for m in AUDITOR_READS} == set(READS)


@pytest.mark.parametrize("method", AUDITOR_READS, ids=[m.rsplit("/", 1)[1] for m in AUDITOR_READS])
async def test_auditor_reads(world, method):
    service, name, _ = empty_request(method)
    resp = await call(world, service, name, "auditor", READS[name](world))
    assert resp.ByteSize() > 0, f"auditor got an empty {name}"


# ------------------------------------------------- 3. objects: other org, other city, wrong role


@dataclass(frozen=True)
class Case:
    id: str
    service: str
    method: str
    user: str
    request: Callable[[World], object]
    # "deny": PERMISSION_DENIED or NOT_FOUND; "filter": answered without the other's records;
    # "allow": the owner's control call succeeds and contains its own record.
    expect: str
    secrets: Callable[[World], list[str]] = lambda w: []
    present: Callable[[World], list[str]] = lambda w: []


def _app_secrets(k: str) -> Callable[[World], list[str]]:
    """What a refusal or someone else's list must not show (a refusal may echo the id asked for)."""
    return lambda w: [w.title(k), w.name(k), w.orgs[k]]


def _deny(id_: str, service: str, method: str, users: list[str], request, secrets) -> list[Case]:
    return [Case(f"{id_}-{u}", service, method, u, request, "deny", secrets) for u in users]


def _cases() -> list[Case]:
    today = datetime.now(UTC).date().isoformat()
    C: list[Case] = []
    J1 = _app_secrets("J1")
    org_secrets = lambda w: [w.name("J1"), make_uscc(DIVISION[JINAN], 500)]  # noqa: E731

    # identity: organisations, users, eligibility
    get_org = lambda w: ipb.GetOrganizationRequest(organization_id=w.orgs["J1"])  # noqa: E731
    C += _deny(
        "GetOrganization",
        "identity",
        "GetOrganization",
        ["app_J2", "app_Q1", "qd_ind", "qd_fin"],
        get_org,
        org_secrets,
    )
    C += [
        Case(
            "GetOrganization-own",
            "identity",
            "GetOrganization",
            "app_J1",
            get_org,
            "allow",
            present=lambda w: [w.name("J1")],
        )
    ]
    C += [
        Case(
            "GetOrganization-own-operator-org",
            "identity",
            "GetOrganization",
            "app_J1",
            lambda w: ipb.GetOrganizationRequest(organization_id=w.orgs["J1-op"]),
            "allow",
            present=lambda w: [w.orgs["J1-op"]],
        )
    ]
    C += _deny(
        "GetOrganization-other-operator-org",
        "identity",
        "GetOrganization",
        ["app_J2", "qd_ind"],
        lambda w: ipb.GetOrganizationRequest(organization_id=w.orgs["J1-op"]),
        lambda w: [f"{w.name('J1')}运营公司"],
    )
    elig = lambda w: ipb.CheckEligibilityRequest(organization_id=w.orgs["J1"], as_of_date=today)  # noqa: E731
    C += _deny(
        "CheckEligibility",
        "identity",
        "CheckEligibility",
        ["app_J2", "qd_ind", "qd_fin", "expert1", "sysadmin", "party"],
        elig,
        org_secrets,
    )
    C += [Case("CheckEligibility-own-city", "identity", "CheckEligibility", "jn_ind", elig, "allow")]
    get_user = lambda w: ipb.GetUserRequest(user_id=w.users["app_J1"])  # noqa: E731
    # A person's record (with masked phone and ID number) is no wider than their organisation's:
    # not to other organisations, other cities' officials or experts.
    C += _deny(
        "GetUser",
        "identity",
        "GetUser",
        ["app_J2", "app_Q1", "qd_ind", "qd_fin", "expert1"],
        get_user,
        lambda w: ["app_J1", w.orgs["J1"]],
    )
    C += [
        Case(
            f"GetUser-{u}",
            "identity",
            "GetUser",
            u,
            get_user,
            "allow",
            present=lambda w: [w.users["app_J1"], w.orgs["J1"]],
        )
        for u in ("app_J1", "jn_ind", "prov_fin", "party", "secadmin")
    ]
    C += _deny(
        "GetUser-other-expert",
        "identity",
        "GetUser",
        ["expert2", "app_J1", "qd_ind"],
        lambda w: ipb.GetUserRequest(user_id=w.users["expert1"]),
        lambda w: ["expert1"],
    )
    list_orgs = lambda w: ipb.ListOrganizationsRequest(city_code=JINAN)  # noqa: E731
    C += [
        Case(
            f"ListOrganizations-other-city-{u}",
            "identity",
            "ListOrganizations",
            u,
            list_orgs,
            "filter",
            lambda w: [w.orgs["J1"], w.orgs["J2"], w.name("J1")],
            lambda w: [w.orgs["Q1"]],
        )
        for u in ("qd_ind", "qd_fin")
    ]
    C += [
        Case(
            "ListOrganizations-own-city",
            "identity",
            "ListOrganizations",
            "jn_ind",
            list_orgs,
            "allow",
            present=lambda w: [w.orgs["J1"], w.orgs["J2"]],
        )
    ]
    C += _deny(
        "ListOrganizations",
        "identity",
        "ListOrganizations",
        ["app_J2", "expert1"],
        list_orgs,
        lambda w: [w.orgs["J1"]],
    )
    C += _deny(
        "ListExperts",
        "identity",
        "ListExperts",
        ["app_J1", "jn_ind", "expert1", "prov_fin", "party"],
        lambda w: ipb.ListExpertsRequest(),
        lambda w: [w.users["expert2"]],
    )

    # intake: applications of a cycle
    get_app = lambda w: inpb.GetApplicationRequest(application_id=w.apps["J1"])  # noqa: E731
    C += _deny(
        "GetApplication",
        "intake",
        "GetApplication",
        ["app_J2", "app_Q1", "qd_ind", "qd_fin", "expert1", "sysadmin"],
        get_app,
        J1,
    )
    C += [
        Case(
            f"GetApplication-{u}",
            "intake",
            "GetApplication",
            u,
            get_app,
            "allow",
            present=lambda w: [w.title("J1")],
        )
        for u in ("app_J1", "jn_ind", "jn_fin", "prov_ind", "party")
    ]
    list_apps = lambda w: inpb.ListApplicationsRequest(cycle_id=CYCLE_IN)  # noqa: E731
    list_jn = lambda w: inpb.ListApplicationsRequest(cycle_id=CYCLE_IN, city_code=JINAN)  # noqa: E731
    J1_listed = lambda w: [w.apps["J1"], *J1(w)]  # noqa: E731
    C += [
        Case(
            "ListApplications-other-org",
            "intake",
            "ListApplications",
            "app_J2",
            list_apps,
            "filter",
            J1_listed,
            lambda w: [w.apps["J2"]],
        )
    ]
    C += [
        Case(
            f"ListApplications-other-city-{u}-{i}",
            "intake",
            "ListApplications",
            u,
            r,
            "filter",
            J1_listed,
            lambda w: [w.apps["Q1"]],
        )
        for u in ("qd_ind", "qd_fin")
        for i, r in enumerate((list_apps, list_jn))
    ]
    C += [
        Case(
            "ListApplications-own-city",
            "intake",
            "ListApplications",
            "jn_fin",
            list_apps,
            "allow",
            lambda w: [w.apps["Q1"]],
            lambda w: [w.apps["J1"], w.apps["J2"]],
        )
    ]
    C += _deny("ListApplications", "intake", "ListApplications", ["expert1", "sysadmin"], list_apps, J1)
    submit = lambda w: inpb.SubmitApplicationRequest(  # noqa: E731
        application_id=w.apps["J1"], declaration=inpb.AuthenticityDeclaration(signer_name="x", accepted=True)
    )
    C += _deny(
        "SubmitApplication",
        "intake",
        "SubmitApplication",
        ["app_J2", "app_Q1", "jn_ind", "qd_ind", "prov_ind", "expert1"],
        submit,
        J1,
    )
    create = lambda w: inpb.CreateApplicationRequest(  # noqa: E731
        cycle_id=CYCLE_IN,
        organization_id=w.orgs["J1"],
        operator_organization_id=w.orgs["J1-op"],
        title="冒名申报",
        service_lines=["compute"],
    )
    C += _deny(
        "CreateApplication-for-another-org",
        "intake",
        "CreateApplication",
        ["app_J2", "app_Q1", "jn_ind", "sysadmin"],
        create,
        J1,
    )
    sign = lambda w: inpb.SignCityRecommendationRequest(  # noqa: E731
        cycle_id=CYCLE_IN,
        city_code=JINAN,
        document_no="伪造〔2026〕1号",
        items=[
            inpb.RecommendationItem(application_id=w.apps[k], recommended=True, opinion="同意")
            for k in ("J1", "J2")
        ],
    )
    C += _deny(
        "SignCityRecommendation-for-another-city",
        "intake",
        "SignCityRecommendation",
        ["qd_ind", "qd_fin", "app_J1", "prov_ind", "auditor"],
        sign,
        lambda w: [w.title("J1")],
    )

    # intake (issue 9): a city reads its own city's joint recommendation only, whatever it asks for.
    recs = lambda w: inpb.ListRecommendationsRequest(cycle_id=CYCLE_REC, city_code=JINAN)  # noqa: E731
    jn_rec = lambda w: [REC_DOC[JINAN], "secret-opinion-J1", "secret-finance-J2"]  # noqa: E731
    qd_rec = lambda w: [REC_DOC[QINGDAO], "secret-finance-Q1"]  # noqa: E731
    C += [
        Case(
            f"ListRecommendations-other-city-{u}",
            "intake",
            "ListRecommendations",
            u,
            recs,
            "filter",
            jn_rec,
            qd_rec,
        )
        for u in ("qd_ind", "qd_fin")
    ]
    C += [
        Case(
            f"ListRecommendations-own-city-{u}",
            "intake",
            "ListRecommendations",
            u,
            lambda w: inpb.ListRecommendationsRequest(cycle_id=CYCLE_REC),
            "allow",
            qd_rec,
            jn_rec,
        )
        for u in ("jn_ind", "jn_fin")
    ]
    C += [
        Case(
            "ListRecommendations-province",
            "intake",
            "ListRecommendations",
            "prov_fin",
            lambda w: inpb.ListRecommendationsRequest(cycle_id=CYCLE_REC),
            "allow",
            present=lambda w: [*jn_rec(w), *qd_rec(w)],
        )
    ]
    C += _deny(
        "ListCycleDecisions",
        "intake",
        "ListCycleDecisions",
        ["app_J1", "jn_ind", "qd_fin", "expert1", "sysadmin"],
        lambda w: inpb.ListCycleDecisionsRequest(cycle_id=CYCLE_REC),
        lambda w: ["secret-concurrence-opinion"],
    )
    C += _deny(
        "ListRecommendations",
        "intake",
        "ListRecommendations",
        ["app_J1", "expert1", "sysadmin"],
        recs,
        jn_rec,
    )

    # review: assignments (experts), compliance, proposal, objections
    e1 = lambda w: w.assignments["expert1"][0]  # noqa: E731
    C += _deny(
        "DeclareConflict-not-assigned",
        "review",
        "DeclareConflict",
        ["expert2"],
        lambda w: rpb.DeclareConflictRequest(assignment_id=e1(w), has_conflict=False),
        lambda w: [w.name(k) for k in ENTERPRISES],
    )
    C += _deny(
        "DeclareConflict-wrong-role",
        "review",
        "DeclareConflict",
        ["prov_ind", "app_J1", "jn_ind", "system"],
        lambda w: rpb.DeclareConflictRequest(assignment_id=e1(w), has_conflict=False),
        lambda w: [w.name(k) for k in ENTERPRISES],
    )
    C += _deny(
        "GetAssignmentMaterials-not-assigned",
        "review",
        "GetAssignmentMaterials",
        ["expert2"],
        lambda w: rpb.GetAssignmentMaterialsRequest(assignment_id=e1(w)),
        lambda w: [f"secret-material-{k}" for k in ENTERPRISES],
    )
    sheet = lambda w: rpb.SubmitScoreSheetRequest(assignment_id=e1(w), scores=score_sheet("0.5"))  # noqa: E731
    C += _deny(
        "SubmitScoreSheet-not-assigned",
        "review",
        "SubmitScoreSheet",
        ["expert2", "prov_ind", "system", "app_J1"],
        sheet,
        lambda w: [w.name(k) for k in ENTERPRISES],
    )
    asg = lambda w: rpb.ListAssignmentsRequest(cycle_id=CYCLE_RV)  # noqa: E731
    C += [
        Case(
            "ListAssignments-other-expert",
            "review",
            "ListAssignments",
            "expert2",
            asg,
            "filter",
            lambda w: w.assignments["expert1"],
            lambda w: w.assignments["expert2"],
        )
    ]
    C += [
        Case(
            "ListAssignments-ask-for-another-expert",
            "review",
            "ListAssignments",
            "expert2",
            lambda w: rpb.ListAssignmentsRequest(cycle_id=CYCLE_RV, expert_user_id=w.users["expert1"]),
            "filter",
            lambda w: w.assignments["expert1"],
        )
    ]
    C += [
        Case(
            "ListAssignments-own",
            "review",
            "ListAssignments",
            "expert1",
            asg,
            "allow",
            lambda w: w.assignments["expert2"],
            lambda w: w.assignments["expert1"],
        )
    ]
    C += _deny(
        "ListAssignments",
        "review",
        "ListAssignments",
        ["app_J1", "jn_ind", "party", "sysadmin"],
        asg,
        lambda w: w.assignments["expert1"] + w.assignments["expert2"],
    )
    for m, req in (
        ("ListComplianceReviews", lambda w: rpb.ListComplianceReviewsRequest(cycle_id=CYCLE_RV)),
        ("GetProposal", lambda w: rpb.GetProposalRequest(cycle_id=CYCLE_PUB)),
        ("ListOnSiteReviews", lambda w: rpb.ListOnSiteReviewsRequest(cycle_id=CYCLE_RV)),
    ):
        C += _deny(
            m,
            "review",
            m,
            ["app_J1", "jn_ind", "qd_fin", "expert1", "sysadmin"],
            req,
            lambda w: [
                w.rv_app(CYCLE_RV, "J1"),
                w.rv_app(CYCLE_PUB, "J1"),
                w.name("J1"),
                "secret-site-findings",
            ],
        )
    objections = lambda w: rpb.ListObjectionsRequest(cycle_id=CYCLE_PUB)  # noqa: E731
    obj_secrets = lambda w: ["13900000042", "secret-objection-content", w.objection]  # noqa: E731
    # Not even the objector lists objections: the objector's name and phone are the province's to see.
    C += _deny(
        "ListObjections",
        "review",
        "ListObjections",
        ["app_Q1", "app_J1", "jn_ind", "qd_ind", "expert1", "sysadmin"],
        objections,
        obj_secrets,
    )
    C += [
        Case(
            "ListObjections-province",
            "review",
            "ListObjections",
            "prov_ind",
            objections,
            "allow",
            present=obj_secrets,
        )
    ]
    # The objector's phone is in clear for province industry (who investigates) only; masked for other readers.
    C += [
        Case(
            f"ListObjections-masked-{u}",
            "review",
            "ListObjections",
            u,
            objections,
            "allow",
            lambda w: ["13900000042"],
            lambda w: ["139****0042", w.objection],
        )
        for u in ("auditor", "prov_fin", "party")
    ]
    C += _deny(
        "RecordInvestigation",
        "review",
        "RecordInvestigation",
        ["app_Q1", "app_J1", "jn_ind", "prov_fin", "party", "expert1"],
        lambda w: rpb.RecordInvestigationRequest(objection_id=w.objection, upheld=True, findings="x"),
        obj_secrets,
    )
    # Official documents are the province's and auditors'; publicity and announcement are public acts
    # (Art. 10) that every signed-in reader may read, whatever their city or organisation.
    C += _deny(
        "ExportDocument",
        "review",
        "ExportDocument",
        ["app_J1", "jn_ind", "qd_fin", "expert1", "sysadmin"],
        lambda w: rpb.ExportDocumentRequest(
            cycle_id=CYCLE_ANN, kind=rpb.DOCUMENT_KIND_PROPOSAL, format=rpb.EXPORT_FORMAT_PDF
        ),
        lambda w: [w.name("J1"), w.rv_app(CYCLE_ANN, "J1")],
    )
    C += [
        Case(
            f"{m}-public-{u}",
            "review",
            m,
            u,
            req,
            "allow",
            present=present,
        )
        for m, req, present in (
            (
                "GetAnnouncement",
                lambda w: rpb.GetAnnouncementRequest(cycle_id=CYCLE_ANN),
                lambda w: ["矩阵〔2026〕1号", w.name("J1")],
            ),
            (
                "ListPublicityNotices",
                lambda w: rpb.ListPublicityNoticesRequest(cycle_id=CYCLE_PUB),
                lambda w: [CYCLE_PUB],
            ),
        )
        for u in ("app_Q1", "qd_ind", "expert1")
    ]
    C += _deny(
        "FileObjection-wrong-role",
        "review",
        "FileObjection",
        ["auditor", "sysadmin", "party", "system"],
        lambda w: rpb.FileObjectionRequest(
            cycle_id=CYCLE_PUB,
            application_id=w.rv_app(CYCLE_PUB, "J1"),
            objector_name="x",
            objector_contact="1",
            content="x",
        ),
        obj_secrets,
    )

    # funding: disbursements, budget, ledger
    disb = lambda w: fpb.ListDisbursementsRequest(cycle_id=CYCLE_FU)  # noqa: E731
    d_j1 = lambda w: [w.disbursements["J1"], w.orgs["J1"], w.rv_app(CYCLE_FU, "J1")]  # noqa: E731
    C += [
        Case(f"ListDisbursements-other-{u}", "funding", "ListDisbursements", u, disb, "filter", d_j1, p)
        for u, p in (
            ("app_J2", lambda w: [w.disbursements["J2"]]),
            ("app_Q1", lambda w: [w.disbursements["Q1"]]),
            ("qd_ind", lambda w: [w.disbursements["Q1"], w.disbursements["Q2"]]),
            ("qd_fin", lambda w: [w.disbursements["Q2"]]),
        )
    ]
    C += [
        Case(
            "ListDisbursements-own",
            "funding",
            "ListDisbursements",
            "app_J1",
            disb,
            "allow",
            lambda w: [w.disbursements["J2"], w.disbursements["Q1"]],
            lambda w: [w.disbursements["J1"]],
        )
    ]
    C += _deny("ListDisbursements", "funding", "ListDisbursements", ["expert1", "sysadmin"], disb, d_j1)
    for m, req in (
        ("GetBudget", lambda w: fpb.GetBudgetRequest(cycle_id=CYCLE_FU)),
        ("ListLedgerEntries", lambda w: fpb.ListLedgerEntriesRequest(cycle_id=CYCLE_FU)),
        ("ListFinanceConcurrences", lambda w: fpb.ListFinanceConcurrencesRequest(cycle_id=CYCLE_FU)),
    ):
        C += _deny(m, "funding", m, ["app_J1", "jn_ind", "qd_fin", "expert1", "sysadmin"], req, d_j1)
    fin_secrets = lambda w: [FINANCE_OPINION, w.orgs["J1"], "鲁财工指"]  # noqa: E731
    for m, req in (
        ("GetAppropriation", lambda w: fpb.GetAppropriationRequest(fiscal_year=FISCAL_YEAR)),
        ("ListAppropriations", lambda w: fpb.ListAppropriationsRequest()),
        ("ListLedgerEntries-appropriation", lambda w: fpb.ListLedgerEntriesRequest(fiscal_year=FISCAL_YEAR)),
    ):
        method = m.split("-")[0]
        C += _deny(
            m, "funding", method, ["app_J1", "jn_fin", "qd_ind", "expert1", "sysadmin"], req, fin_secrets
        )
    # Money moves only on province finance's own record: neither the workflow's service account nor
    # another official may concur, nor may anyone but province finance open an appropriation.
    C += _deny(
        "RecordFinanceConcurrence",
        "funding",
        "RecordFinanceConcurrence",
        ["system", "prov_ind", "party", "jn_fin", "app_J1"],
        lambda w: fpb.RecordFinanceConcurrenceRequest(
            cycle_id=CYCLE_FU,
            proposal_version=2,
            agree=True,
            lines=[
                fpb.ReservationLine(
                    application_id=w.rv_app(CYCLE_FU, "J1"),
                    organization_id=w.orgs["J1"],
                    amount_fen=9_223_372_036_854_775_807,
                    city_code=JINAN,
                    tier="advanced",
                )
            ],
        ),
        fin_secrets,
    )
    C += _deny(
        "OpenAppropriation",
        "funding",
        "OpenAppropriation",
        ["system", "prov_ind", "jn_fin", "auditor"],
        lambda w: fpb.OpenAppropriationRequest(
            fiscal_year=FISCAL_YEAR + 5, budget_document_no="伪造", amount_fen=1, performance_targets="x"
        ),
        lambda w: [],
    )
    C += [
        Case(
            f"ListFinanceConcurrences-{u}",
            "funding",
            "ListFinanceConcurrences",
            u,
            lambda w: fpb.ListFinanceConcurrencesRequest(cycle_id=CYCLE_FU),
            "allow",
            present=lambda w: [FINANCE_OPINION, w.orgs["J1"]],
        )
        for u in ("prov_fin", "party", "auditor")
    ]

    # supervision: targets, reports, evaluations
    tg = lambda w: spb.ListPerformanceTargetsRequest(cycle_id=CYCLE_FU)  # noqa: E731
    tg_j1 = lambda w: spb.ListPerformanceTargetsRequest(  # noqa: E731
        cycle_id=CYCLE_FU, application_id=w.rv_app(CYCLE_FU, "J1")
    )
    t_j1 = lambda w: [*w.targets["J1"], w.orgs["J1"]]  # noqa: E731
    C += [
        Case(
            f"ListPerformanceTargets-other-{u}",
            "supervision",
            "ListPerformanceTargets",
            u,
            tg,
            "filter",
            t_j1,
            lambda w, k=k: w.targets[k],
        )
        for u, k in (("app_J2", "J2"), ("app_Q1", "Q1"), ("qd_ind", "Q2"))
    ]
    C += _deny(
        "ListPerformanceTargets-of-another-award",
        "supervision",
        "ListPerformanceTargets",
        ["app_J2", "app_Q1", "qd_ind", "qd_fin", "expert1", "sysadmin"],
        tg_j1,
        t_j1,
    )
    C += [
        Case(
            f"ListPerformanceTargets-own-{u}",
            "supervision",
            "ListPerformanceTargets",
            u,
            tg_j1,
            "allow",
            present=lambda w: w.targets["J1"],
        )
        for u in ("app_J1", "jn_fin")
    ]
    report = lambda w: spb.SubmitMonitoringReportRequest(  # noqa: E731
        cycle_id=CYCLE_FU,
        application_id=w.rv_app(CYCLE_FU, "J1"),
        values=[spb.ReportedValue(target_id=w.targets["J1"][0], value="1")],
        narrative="冒名报告",
    )
    C += _deny(
        "SubmitMonitoringReport",
        "supervision",
        "SubmitMonitoringReport",
        ["app_J2", "app_Q1", "jn_ind", "qd_ind", "prov_ind", "auditor", "expert1"],
        report,
        t_j1,
    )
    C += _deny(
        "RecordEvaluation",
        "supervision",
        "RecordEvaluation",
        ["app_J1", "jn_ind", "qd_fin", "prov_fin", "auditor", "expert1"],
        lambda w: spb.RecordEvaluationRequest(
            cycle_id=CYCLE_FU,
            application_id=w.rv_app(CYCLE_FU, "J1"),
            grade=spb.EVALUATION_GRADE_FAIL,
            comments="x",
        ),
        t_j1,
    )
    C += _deny(
        "GetSupervisionStatus",
        "supervision",
        "GetSupervisionStatus",
        ["app_J1", "jn_ind", "expert1", "sysadmin"],
        lambda w: spb.GetSupervisionStatusRequest(cycle_id=CYCLE_FU),
        t_j1,
    )
    conclusion = lambda w: spb.GetSupervisionConclusionRequest(cycle_id=CYCLE_SU)  # noqa: E731
    C += _deny(
        "GetSupervisionConclusion",
        "supervision",
        "GetSupervisionConclusion",
        ["app_J1", "jn_ind", "qd_fin", "expert1", "sysadmin"],
        conclusion,
        lambda w: [SUPERVISION_SUMMARY],
    )
    C += [
        Case(
            f"GetSupervisionConclusion-{u}",
            "supervision",
            "GetSupervisionConclusion",
            u,
            conclusion,
            "allow",
            present=lambda w: [SUPERVISION_SUMMARY],
        )
        for u in ("prov_ind", "prov_fin", "party", "auditor")
    ]
    return C


OBJECT_CASES = _cases()


@pytest.mark.parametrize("case", OBJECT_CASES, ids=[c.id for c in OBJECT_CASES])
async def test_object_access(world, case: Case):
    w = world
    req = case.request(w)
    if case.expect == "deny":
        await expect_denied(w, case.service, case.method, case.user, req, case.secrets(w))
        return
    resp = await call(w, case.service, case.method, case.user, req)
    blob = resp.SerializeToString()
    for s in case.secrets(w):
        assert s.encode() not in blob, f"{case.method} as {case.user} returns {s!r}"
    for s in case.present(w):
        assert s.encode() in blob, f"{case.method} as {case.user} lacks its own {s!r}"


# ------------------------------------------------------------------------ 4. expert workflow


async def test_expert_scores_only_after_declaring_no_conflict(world):
    w = world
    aid = w.assignments["expert1"][0]
    sheet = rpb.SubmitScoreSheetRequest(assignment_id=aid, scores=score_sheet("0.8"))
    err = await expect_denied(
        w, "review", "SubmitScoreSheet", "expert1", sheet, codes={grpc.StatusCode.FAILED_PRECONDITION}
    )
    assert err.reason == "DECLARATION_REQUIRED"
    # Nor are the application's materials shown before the declaration.
    materials = rpb.GetAssignmentMaterialsRequest(assignment_id=aid)
    err = await expect_denied(
        w,
        "review",
        "GetAssignmentMaterials",
        "expert1",
        materials,
        ["secret-material"],
        codes={grpc.StatusCode.FAILED_PRECONDITION},
    )
    assert err.reason == "DECLARATION_REQUIRED"
    # The other expert cannot declare for it either; then the assigned one declares and scores.
    await expect_denied(
        w,
        "review",
        "DeclareConflict",
        "expert2",
        rpb.DeclareConflictRequest(assignment_id=aid, has_conflict=False),
        codes={grpc.StatusCode.NOT_FOUND},
    )
    await call(
        w,
        "review",
        "DeclareConflict",
        "expert1",
        rpb.DeclareConflictRequest(assignment_id=aid, has_conflict=False),
    )
    shown = await call(w, "review", "GetAssignmentMaterials", "expert1", materials)
    assert [m.filename for m in shown.materials] == [
        f"secret-material-{k}.pdf" for k in ENTERPRISES if w.rv_app(CYCLE_RV, k) == shown.application_id
    ]
    await expect_denied(
        w,
        "review",
        "GetAssignmentMaterials",
        "expert2",
        materials,
        ["secret-material"],
        codes={grpc.StatusCode.NOT_FOUND},
    )
    await expect_denied(w, "review", "SubmitScoreSheet", "expert2", sheet, codes={grpc.StatusCode.NOT_FOUND})
    resp = await call(w, "review", "SubmitScoreSheet", "expert1", sheet)
    assert resp.sheet.total == "80.00"
    # Experts never reach application records in intake.
    await expect_denied(
        w,
        "intake",
        "GetApplication",
        "expert1",
        inpb.GetApplicationRequest(application_id=w.apps["J1"]),
        codes={grpc.StatusCode.PERMISSION_DENIED},
    )


# ---------------------------------------------------------------- 5. the joint recommendation


async def test_city_recommendation_needs_both_bureaus(world):
    w = world
    items = [
        inpb.RecommendationItem(application_id=w.apps[k], recommended=True, opinion="同意推荐")
        for k in ("J1", "J2")
    ]
    req = inpb.SignCityRecommendationRequest(
        cycle_id=CYCLE_IN, city_code=JINAN, document_no="济工信联字〔2026〕1号", items=items
    )
    # Qingdao's officials may not sign for Jinan, nor list Jinan's applications in Qingdao's name.
    await expect_denied(
        w, "intake", "SignCityRecommendation", "qd_ind", req, codes={grpc.StatusCode.PERMISSION_DENIED}
    )
    smuggled = inpb.SignCityRecommendationRequest(
        cycle_id=CYCLE_IN, city_code=QINGDAO, document_no="青工信联字〔2026〕1号", items=items
    )
    await expect_denied(
        w, "intake", "SignCityRecommendation", "qd_ind", smuggled, codes={grpc.StatusCode.INVALID_ARGUMENT}
    )

    first = (await call(w, "intake", "SignCityRecommendation", "jn_ind", req)).recommendation
    assert not first.complete
    assert [s.role for s in first.signoffs] == [authz.CITY_INDUSTRY]
    # The same bureau signing again does not complete it.
    await expect_denied(
        w, "intake", "SignCityRecommendation", "jn_ind", req, codes={grpc.StatusCode.ALREADY_EXISTS}
    )
    apps = (
        await call(
            w,
            "intake",
            "ListApplications",
            "prov_ind",
            inpb.ListApplicationsRequest(cycle_id=CYCLE_IN, city_code=JINAN),
        )
    ).applications
    assert {a.status for a in apps} == {inpb.APPLICATION_STATUS_SUBMITTED}, "one sign-off records nothing"

    second = (await call(w, "intake", "SignCityRecommendation", "jn_fin", req)).recommendation
    assert second.complete
    assert sorted(s.role for s in second.signoffs) == [
        authz.CITY_FINANCE,
        authz.CITY_INDUSTRY,
    ]
    apps = (
        await call(
            w,
            "intake",
            "ListApplications",
            "prov_ind",
            inpb.ListApplicationsRequest(cycle_id=CYCLE_IN, city_code=JINAN),
        )
    ).applications
    assert {a.status for a in apps} == {inpb.APPLICATION_STATUS_RECOMMENDED}


async def test_case_count():
    total = len(ROLE_GATE) + len(AUDITOR_WRITES) + len(AUDITOR_READS) + len(OBJECT_CASES) + 2
    print(
        f"\nauthz matrix: {total} cases (role gate {len(ROLE_GATE)}, auditor writes {len(AUDITOR_WRITES)}, "
        f"auditor reads {len(AUDITOR_READS)}, object cases {len(OBJECT_CASES)}, scenario tests 2)"
    )
    assert len({c.id for c in OBJECT_CASES}) == len(OBJECT_CASES), "case ids are unique"
