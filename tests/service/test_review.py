"""Review over gRPC, with identity in process: compliance, panels and conflicts, score sheets,
the proposal, publicity, objections; and each kind of error."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import grpc
import openpyxl
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pypdf import PdfReader

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.clock import beijing_date
from aicc.platform.policy import find_policy
from aicc.platform.status import read_error
from aicc.review.v1 import review_pb2 as pb
from services.identity.domain.uscc import make_uscc
from tests.support.suite import InProcessSuite, suite_settings

PASSWORD = "expert-password-123"


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity", "review"]) as s:
        yield s


def policy_json(*, size: int = 3, max_load: int = 10) -> str:
    data = find_policy("shandong-2026").to_jsonable()
    data["panel"] = {"size": size, "max_load_per_expert": max_load, "conflict_lookback_years": 3}
    return json.dumps(data, ensure_ascii=False)


def stamp(dt: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(dt)
    return t


@dataclass
class World:
    orgs: dict[str, str] = field(default_factory=dict)  # key -> organization_id
    experts: dict[str, str] = field(default_factory=dict)  # key -> user_id
    tokens: dict[str, str] = field(default_factory=dict)  # user_id -> token
    province: str = ""
    applicant: str = ""


async def make_world(suite, n_clean: int = 4) -> World:
    """Enterprises A-E (A with an operating organisation), clean experts c1..cN and two
    conflicted ones: x_emp (left A about a year ago) and x_share (shareholder of A's operator)."""
    w = World()
    ident = await suite.admin()

    async def org(key, serial, kind, name, parent=""):
        o = await ident.CreateOrganization(
            ipb.CreateOrganizationRequest(
                uscc=make_uscc("370212", serial),
                name=name,
                kind=kind,
                legal_person=True,
                parent_organization_id=parent,
            )
        )
        w.orgs[key] = o.organization.organization_id

    for i, key in enumerate("ABCDE"):
        await org(key, 100 + i, ipb.ORGANIZATION_KIND_ENTERPRISE, f"企业{key}有限公司")
    await org("A-op", 200, ipb.ORGANIZATION_KIND_OPERATOR_ORG, "企业A运营公司", parent=w.orgs["A"])
    await org("univ", 300, ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER, "山东某大学")

    async def expert(key, **relations):
        u = await ident.CreateUser(
            ipb.CreateUserRequest(
                username=key, display_name=f"专家{key}", password=PASSWORD, roles=["expert"]
            )
        )
        uid = u.user.user_id
        await ident.RegisterExpert(
            ipb.RegisterExpertRequest(
                user_id=uid, fields=["ai"], employer_organization_id=w.orgs["univ"], **relations
            )
        )
        w.experts[key] = uid
        w.tokens[uid] = await suite.login(key, PASSWORD)

    for i in range(1, n_clean + 1):
        await expert(f"c{i}")
    await expert(
        "x_emp",
        employment=[
            ipb.EmploymentRecord(
                organization_id=w.orgs["A"],
                start_date="2015-03-01",
                end_date=str(date.today() - timedelta(days=400)),
            )
        ],
    )
    await expert("x_share", shareholdings=[ipb.Shareholding(organization_id=w.orgs["A-op"])])
    await ident.CreateUser(
        ipb.CreateUserRequest(
            username="prov", display_name="省工信厅", password=PASSWORD, roles=["province_industry"]
        )
    )
    w.province = await suite.login("prov", PASSWORD)
    await ident.CreateUser(
        ipb.CreateUserRequest(
            username="appl",
            display_name="申报人",
            password=PASSWORD,
            roles=["applicant"],
            organization_id=w.orgs["B"],
        )
    )
    w.applicant = await suite.login("appl", PASSWORD)
    return w


def candidates(w: World, keys: str = "ABCDE") -> list[pb.Candidate]:
    base = datetime(2026, 5, 1, tzinfo=UTC)
    return [
        pb.Candidate(
            application_id=f"app-{k.lower()}",
            organization_id=w.orgs[k],
            operator_organization_id=w.orgs["A-op"] if k == "A" else "",
            enterprise_name=f"企业{k}有限公司",
            city_code="370200",
            submitted_at=stamp(base + timedelta(hours=i)),
            title=f"企业{k}算力服务项目",
            materials=materials_of(k),
        )
        for i, k in enumerate(keys)
    ]


def materials_of(k: str) -> list[pb.Material]:
    return [
        pb.Material(
            material_id=f"mat-{k.lower()}-{n}",
            kind=kind,
            filename=f"{k}-{kind}.pdf",
            sha256=f"{n:x}" * 64,
            size_bytes=1024 * (n + 1),
        )
        for n, kind in enumerate(("application_form", "compute_inventory"))
    ]


def decision(app: str, ok: bool = True) -> pb.ComplianceReview:
    return pb.ComplianceReview(
        application_id=app,
        compliant=ok,
        reasons=[] if ok else ["材料不全 / materials incomplete"],
        decided_by="usr_province",
        decided_at=stamp(datetime(2026, 7, 1, tzinfo=UTC)),
    )


def sheet(fraction: str) -> list[pb.IndicatorScore]:
    """Every indicator at the same fraction of its maximum: the total is 100 x fraction."""
    policy = find_policy("shandong-2026")
    f = Decimal(fraction)
    return [
        pb.IndicatorScore(
            indicator_id=i,
            points=str((policy.indicator(i).max_points * f).quantize(Decimal("0.01"))),
            justification="依据申报材料评分",
        )
        for i in policy.indicator_ids()
    ]


async def open_and_draw(
    suite, w: World, cycle: str, *, keys="ABCDE", non_compliant="E", seed=20260901, size=3
):
    worker = suite.stub("review", await suite.worker_token())
    await worker.OpenReview(
        pb.OpenReviewRequest(
            cycle_id=cycle, policy_json=policy_json(size=size), candidates=candidates(w, keys)
        )
    )
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id=cycle, decisions=[decision(f"app-{k.lower()}", k not in non_compliant) for k in keys]
        )
    )
    return worker, await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=seed))


async def all_assignments(stub, **filters) -> list[pb.Assignment]:
    """Every assignment the caller may see, page after page."""
    out: list[pb.Assignment] = []
    token = ""
    while True:
        page = await stub.ListAssignments(pb.ListAssignmentsRequest(page_token=token, **filters))
        out.extend(page.assignments)
        token = page.next_page_token
        if not token:
            return out


async def score_everything(suite, w: World, cycle: str, fractions: dict[str, str]) -> None:
    worker = suite.stub("review", await suite.worker_token())
    for a in await all_assignments(worker, cycle_id=cycle):
        rv = suite.stub("review", w.tokens[a.expert_user_id])
        if a.status == pb.ASSIGNMENT_STATUS_PENDING_DECLARATION:
            await rv.DeclareConflict(
                pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False)
            )
        if a.status != pb.ASSIGNMENT_STATUS_RECUSED:
            await rv.SubmitScoreSheet(
                pb.SubmitScoreSheetRequest(
                    assignment_id=a.assignment_id, scores=sheet(fractions[a.application_id])
                )
            )


def investigation(
    objection_id: str, *, upheld: bool, findings: str = "经核实"
) -> pb.RecordInvestigationRequest:
    """A complete investigation record (调查核实), concluded today (Beijing)."""
    return pb.RecordInvestigationRequest(
        objection_id=objection_id,
        upheld=upheld,
        findings=findings,
        investigator="王调查（省工信厅数据处）",
        evidence=["申报材料复核记录", "现场核查笔录"],
        reply_to_objector="经调查核实，已书面答复异议人",
        reply_to_applicant="已书面告知申报单位调查结论",
        investigated_on=beijing_date(datetime.now(UTC)).isoformat(),
    )


async def expect(code: grpc.StatusCode, coro):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await coro
    err = read_error(e.value)
    assert err.code == code, str(err)
    assert err.message_zh, "every error carries a Chinese message"
    return err


# ---------------------------------------------------------------------------------- happy path


async def test_full_review_from_compliance_to_announcement(suite):
    w = await make_world(suite)
    worker = suite.stub("review", await suite.worker_token())
    cycle = "cycle-2026"

    # Open: idempotent.
    req = pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json(), candidates=candidates(w))
    assert (await worker.OpenReview(req)).candidates == 5
    assert (await worker.OpenReview(req)).candidates == 5

    # Compliance: E is refused; a repeat is a no-op; a different decision is refused.
    first = await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision("app-a"), decision("app-b")])
    )
    assert (first.decided, first.remaining) == (2, 3)
    again = await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision("app-a")])
    )
    assert (again.decided, again.remaining) == (2, 3)
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.RecordComplianceDecisions(
            pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision("app-a", ok=False)])
        ),
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        worker.RecordComplianceDecisions(
            pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision("app-zz")])
        ),
    )
    # Panels cannot be drawn before every application is decided.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=7))
    )
    assert "app-c" in err.message
    done = await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id=cycle, decisions=[decision("app-c"), decision("app-d"), decision("app-e", ok=False)]
        )
    )
    assert (done.decided, done.remaining) == (5, 0)
    reviews = (
        await suite.stub("review", w.province).ListComplianceReviews(
            pb.ListComplianceReviewsRequest(cycle_id=cycle)
        )
    ).reviews
    assert {r.application_id: r.compliant for r in reviews} == {
        "app-a": True,
        "app-b": True,
        "app-c": True,
        "app-d": True,
        "app-e": False,
    }

    # Draw: conflicted experts are excluded from A with their reasons; E (non-compliant) gets no panel.
    draw = await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=20260901))
    assert draw.seed == 20260901
    pairs = {(a.application_id, a.expert_user_id) for a in draw.assignments}
    assert {a.application_id for a in draw.assignments} == {"app-a", "app-b", "app-c", "app-d"}
    assert all(sum(1 for p in pairs if p[0] == app) == 3 for app in ("app-a", "app-b", "app-c", "app-d"))
    x_emp, x_share = w.experts["x_emp"], w.experts["x_share"]
    assert ("app-a", x_emp) not in pairs
    assert ("app-a", x_share) not in pairs
    reasons = {(x.application_id, x.expert_user_id): x.reason for x in draw.exclusions}
    assert reasons[("app-a", x_emp)] == "employed_by_applicant_within_3y"
    assert reasons[("app-a", x_share)] == "shareholder_of_operator"
    assert all(a.status == pb.ASSIGNMENT_STATUS_PENDING_DECLARATION for a in draw.assignments)
    # Idempotent: the recorded draw comes back, whatever seed a retry passes.
    again_draw = await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=999))
    assert again_draw.seed == 20260901
    assert [a.assignment_id for a in again_draw.assignments] == [a.assignment_id for a in draw.assignments]

    # An expert sees only their own assignments, even when asking for someone else's.
    some = draw.assignments[0]
    mine = suite.stub("review", w.tokens[some.expert_user_id])
    other_id = next(uid for uid in w.experts.values() if uid != some.expert_user_id)
    listed = (
        await mine.ListAssignments(pb.ListAssignmentsRequest(cycle_id=cycle, expert_user_id=other_id))
    ).assignments
    assert listed
    assert all(a.expert_user_id == some.expert_user_id for a in listed)
    assert listed[0].enterprise_name.startswith("企业")

    # A recusal on A: recorded as self_declared, and a replacement is drawn from the clean pool.
    on_a = [a for a in draw.assignments if a.application_id == "app-a"]
    recusing = on_a[0]
    resp = await suite.stub("review", w.tokens[recusing.expert_user_id]).DeclareConflict(
        pb.DeclareConflictRequest(
            assignment_id=recusing.assignment_id, has_conflict=True, statement="曾为该企业提供咨询"
        )
    )
    assert resp.assignment.status == pb.ASSIGNMENT_STATUS_RECUSED
    assert resp.HasField("replacement")
    replacement = resp.replacement
    assert replacement.application_id == "app-a"
    assert replacement.expert_user_id not in {a.expert_user_id for a in on_a} | {x_emp, x_share}
    assert replacement.status == pb.ASSIGNMENT_STATUS_PENDING_DECLARATION
    # A second declaration on the same assignment is refused.
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        suite.stub("review", w.tokens[recusing.expert_user_id]).DeclareConflict(
            pb.DeclareConflictRequest(assignment_id=recusing.assignment_id, has_conflict=False)
        ),
    )

    # Proposal cannot be computed while sheets are missing.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle))
    )
    assert "app-a" in err.message

    # Everyone declares and scores: A 95, B 85, C 82, D 70.
    fractions = {"app-a": "0.95", "app-b": "0.85", "app-c": "0.82", "app-d": "0.70"}
    await score_everything(suite, w, cycle, fractions)

    # A correction is a new version and needs a reason; the latest version counts.
    first_b = next(a for a in draw.assignments if a.application_id == "app-b")
    rv_b = suite.stub("review", w.tokens[first_b.expert_user_id])
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        rv_b.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=first_b.assignment_id, scores=sheet("0.80"))
        ),
    )
    assert [v.field for v in err.violations] == ["correction_reason"]
    corrected = (
        await rv_b.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(
                assignment_id=first_b.assignment_id, scores=sheet("0.88"), correction_reason="笔误更正"
            )
        )
    ).sheet
    assert corrected.version == 2
    assert corrected.total == "88.00"
    # B is now (88 + 85 + 85) / 3 = 86.00

    # Budget for one excellent and one advanced award: 3,000,000 yuan.
    budget = 3_000_000 * 100
    proposal = (
        await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle, budget_fen=budget))
    ).proposal
    assert proposal.version == 1
    assert proposal.budget_fen == budget
    lines = {x.application_id: x for x in proposal.lines}
    assert [x.application_id for x in sorted(proposal.lines, key=lambda x: x.rank)] == [
        "app-a",
        "app-b",
        "app-c",
        "app-d",
    ]
    assert lines["app-a"].final_score == "95.00"
    assert lines["app-a"].tier == pb.TIER_EXCELLENT
    assert lines["app-a"].amount_fen == 2_000_000 * 100
    assert lines["app-b"].final_score == "86.00"
    assert lines["app-b"].tier == pb.TIER_ADVANCED
    assert lines["app-b"].amount_fen == 1_000_000 * 100
    assert lines["app-c"].reserve
    assert lines["app-c"].tier == pb.TIER_ADVANCED
    assert lines["app-d"].tier == pb.TIER_NONE
    assert lines["app-d"].amount_fen == 0
    assert not lines["app-d"].reserve
    assert proposal.allocated_fen == 3_000_000 * 100
    assert {d.dimension for d in lines["app-a"].dimension_scores} == {"1", "2", "3", "4", "5"}
    # Each line names the applicant organisation the candidate was opened with.
    org_of = {f"app-{k.lower()}": w.orgs[k] for k in "ABCDE"}
    assert {x.application_id: x.organization_id for x in proposal.lines} == {
        a: org_of[a] for a in ("app-a", "app-b", "app-c", "app-d")
    }
    # Retried by the workflow: the same proposal, unchanged.
    again_p = (await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle))).proposal
    assert again_p.version == 1
    assert again_p.lines == proposal.lines

    # Scoring is closed once the proposal exists.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        rv_b.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(
                assignment_id=first_b.assignment_id, scores=sheet("0.90"), correction_reason="x"
            )
        ),
    )
    assert err.metadata["phase"] == "PROPOSAL"
    assert "PROPOSAL" in err.message

    # Objections only during publicity.
    appl = suite.stub("review", w.applicant)
    obj_req = pb.FileObjectionRequest(
        cycle_id=cycle,
        application_id="app-a",
        objector_name="张三",
        objector_contact="13800000000",
        content="数据造假",
    )
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, appl.FileObjection(obj_req))
    assert err.metadata["phase"] == "PROPOSAL"

    ends = datetime.now(UTC) + timedelta(days=7)
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(cycle_id=cycle, proposal_version=1, ends_at=stamp(ends))
    )
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(cycle_id=cycle, proposal_version=1, ends_at=stamp(ends))
    )

    # Anonymous objections are refused, naming the fields.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        appl.FileObjection(
            pb.FileObjectionRequest(cycle_id=cycle, application_id="app-a", content="匿名举报")
        ),
    )
    assert {v.field for v in err.violations} == {"objector_name", "objector_contact"}
    # Only listed applications (awards or reserves) may be objected to.
    await expect(
        grpc.StatusCode.NOT_FOUND,
        appl.FileObjection(
            pb.FileObjectionRequest(
                cycle_id=cycle,
                application_id="app-d",
                objector_name="张三",
                objector_contact="138",
                content="x",
            )
        ),
    )
    objection = (await appl.FileObjection(obj_req)).objection
    assert objection.status == pb.OBJECTION_STATUS_UNDER_INVESTIGATION
    dismissed_one = (
        await appl.FileObjection(
            pb.FileObjectionRequest(
                cycle_id=cycle,
                application_id="app-b",
                objector_name="李四",
                objector_contact="139",
                content="存疑",
            )
        )
    ).objection

    # Publicity cannot close while objections are open; they are named.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    )
    assert objection.objection_id in err.message

    province = suite.stub("review", w.province)
    # An investigation is a complete record: who, the conclusion, both replies and the date.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        province.RecordInvestigation(
            pb.RecordInvestigationRequest(objection_id=objection.objection_id, upheld=True)
        ),
    )
    assert {v.field for v in err.violations} == {
        "findings",
        "investigator",
        "reply_to_objector",
        "reply_to_applicant",
        "investigated_on",
    }
    tomorrow = beijing_date(datetime.now(UTC) + timedelta(days=1)).isoformat()
    late = investigation(objection.objection_id, upheld=True)
    late.investigated_on = tomorrow
    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, province.RecordInvestigation(late))
    assert [v.field for v in err.violations] == ["investigated_on"]
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.RecordInvestigation(investigation("obj_nope", upheld=True, findings="x")),
    )
    dismissed = await province.RecordInvestigation(
        investigation(dismissed_one.objection_id, upheld=False, findings="经核实无问题")
    )
    assert dismissed.objection.status == pb.OBJECTION_STATUS_DISMISSED
    assert not dismissed.HasField("proposal")

    upheld = await province.RecordInvestigation(
        investigation(objection.objection_id, upheld=True, findings="经核实数据造假")
    )
    assert upheld.objection.status == pb.OBJECTION_STATUS_UPHELD
    # The investigation is on the objection: investigator, evidence, replies, dates.
    o = upheld.objection
    assert o.investigator == "王调查（省工信厅数据处）"
    assert list(o.evidence) == ["申报材料复核记录", "现场核查笔录"]
    assert (o.reply_to_objector, o.reply_to_applicant) == (
        "经调查核实，已书面答复异议人",
        "已书面告知申报单位调查结论",
    )
    assert o.investigated_on == beijing_date(datetime.now(UTC)).isoformat()
    assert o.HasField("concluded_at")
    assert o.findings == "经核实数据造假"
    v2 = upheld.proposal
    assert v2.version == 2
    assert (v2.basis, v2.previous_version) == ("objection_upheld", 1)
    assert objection.objection_id in v2.reason
    assert "app-a" in v2.reason
    lines2 = {x.application_id: x for x in v2.lines}
    assert "app-a" not in lines2
    assert lines2["app-b"].rank == 1
    assert lines2["app-b"].amount_fen == 1_000_000 * 100
    assert all(x.organization_id == org_of[x.application_id] for x in v2.lines)
    # The reserve moved up into the freed budget, and its line says why.
    assert not lines2["app-c"].reserve
    assert lines2["app-c"].amount_fen == 1_000_000 * 100
    assert objection.objection_id in lines2["app-c"].revision_reason
    assert v2.allocated_fen == 2_000_000 * 100
    assert v2.reserve_count == 0
    # A decided objection cannot be decided again.
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        province.RecordInvestigation(investigation(objection.objection_id, upheld=False, findings="改判")),
    )
    # Earlier versions are kept; version 0 is the latest.
    assert (
        await province.GetProposal(pb.GetProposalRequest(cycle_id=cycle, version=1))
    ).proposal.lines == proposal.lines
    assert (await province.GetProposal(pb.GetProposalRequest(cycle_id=cycle))).proposal.version == 2
    await expect(
        grpc.StatusCode.NOT_FOUND, province.GetProposal(pb.GetProposalRequest(cycle_id=cycle, version=9))
    )
    objections = (await province.ListObjections(pb.ListObjectionsRequest(cycle_id=cycle))).objections
    assert {o.status for o in objections} == {pb.OBJECTION_STATUS_UPHELD, pb.OBJECTION_STATUS_DISMISSED}
    # One objection a page, in the order they were filed; the token is the caller's own.
    first_page = await province.ListObjections(pb.ListObjectionsRequest(cycle_id=cycle, page_size=1))
    assert [o.objection_id for o in first_page.objections] == [objection.objection_id]
    assert first_page.next_page_token
    second_page = await province.ListObjections(
        pb.ListObjectionsRequest(cycle_id=cycle, page_size=1, page_token=first_page.next_page_token)
    )
    assert [o.objection_id for o in second_page.objections] == [dismissed_one.objection_id]
    assert not second_page.next_page_token
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.ListObjections(
            pb.ListObjectionsRequest(cycle_id=cycle, page_size=1, page_token=first_page.next_page_token)
        ),
    )
    assert [v.field for v in err.violations] == ["page_token"]

    # The upheld objection changed the list: version 2 goes back to PROPOSAL (finance concurrence,
    # party-group approval and its own publicity before anything is announced or paid).
    closed = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    final = closed.proposal
    assert closed.changed
    assert final.version == 2
    assert final.lines
    assert all(x.organization_id == org_of[x.application_id] for x in final.lines)
    again_closed = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    assert (again_closed.proposal.version, again_closed.changed) == (2, True)
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, appl.FileObjection(obj_req))
    assert err.metadata["phase"] == "PROPOSAL"


# ---------------------------------------------------------------------------------- the draw


async def test_same_seed_reproduces_the_draw_and_another_seed_differs(suite):
    w = await make_world(suite, n_clean=6)
    _, d1 = await open_and_draw(suite, w, "cycle-a", seed=1234)
    _, d2 = await open_and_draw(suite, w, "cycle-b", seed=1234)
    _, d3 = await open_and_draw(suite, w, "cycle-c", seed=98765)
    pairs = lambda d: [(a.application_id, a.expert_user_id) for a in d.assignments]  # noqa: E731
    assert pairs(d1) == pairs(d2)
    assert pairs(d1) != pairs(d3)
    assert [(x.application_id, x.expert_user_id, x.reason) for x in d1.exclusions] == [
        (x.application_id, x.expert_user_id, x.reason) for x in d2.exclusions
    ]


async def test_auditors_read_the_recorded_draw_with_every_exclusion(suite):
    w = await make_world(suite, n_clean=6)
    prov = suite.stub("review", w.province)
    worker = suite.stub("review", await suite.worker_token())
    await worker.OpenReview(
        pb.OpenReviewRequest(cycle_id="cycle-d", policy_json=policy_json(), candidates=candidates(w))
    )
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, prov.GetPanelDraw(pb.GetPanelDrawRequest(cycle_id="cycle-d"))
    )
    assert err.metadata["phase"] == "COMPLIANCE_REVIEW"
    _, drawn = await open_and_draw(suite, w, "cycle-e", seed=4242)
    await (await suite.admin()).CreateUser(
        ipb.CreateUserRequest(username="audit-d", display_name="审计", password=PASSWORD, roles=["auditor"])
    )
    auditor = suite.stub("review", await suite.login("audit-d", PASSWORD))
    recorded = await auditor.GetPanelDraw(pb.GetPanelDrawRequest(cycle_id="cycle-e"))
    assert recorded.seed == 4242
    assert list(recorded.assignments) == list(drawn.assignments)
    assert [(x.application_id, x.expert_user_id, x.reason) for x in recorded.exclusions] == [
        (x.application_id, x.expert_user_id, x.reason) for x in drawn.exclusions
    ]
    assert recorded.exclusions, "the world has conflicted experts: their exclusions must be on record"
    # an expert may not read the whole draw
    expert = suite.stub("review", next(iter(w.tokens.values())))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED, expert.GetPanelDraw(pb.GetPanelDrawRequest(cycle_id="cycle-e"))
    )


async def test_identity_unreachable_during_the_draw_is_unavailable_not_internal(suite):
    w = await make_world(suite, n_clean=6)
    worker = suite.stub("review", await suite.worker_token())
    await worker.OpenReview(
        pb.OpenReviewRequest(cycle_id="cycle-u", policy_json=policy_json(), candidates=candidates(w))
    )
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id="cycle-u", decisions=[decision(f"app-{k}") for k in "abcde"]
        )
    )
    await suite.hosts["identity"].stop(0)  # review's keys are cached; its expert-pool call fails
    err = await expect(
        grpc.StatusCode.UNAVAILABLE, worker.DrawPanels(pb.DrawPanelsRequest(cycle_id="cycle-u", seed=1))
    )
    assert err.reason == "DEPENDENCY_UNAVAILABLE"
    assert err.message_zh
    del suite.hosts["identity"]  # already stopped


async def test_no_eligible_expert_fails_naming_the_application(suite):
    w = await make_world(suite, n_clean=0)  # only x_emp and x_share, both conflicted with A
    worker = suite.stub("review", await suite.worker_token())
    await worker.OpenReview(
        pb.OpenReviewRequest(cycle_id="c1", policy_json=policy_json(), candidates=candidates(w, "A"))
    )
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(cycle_id="c1", decisions=[decision("app-a")])
    )
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, worker.DrawPanels(pb.DrawPanelsRequest(cycle_id="c1", seed=5))
    )
    assert "app-a" in err.message
    assert err.reason == "NOT_ENOUGH_EXPERTS"


# ---------------------------------------------------------------------------------- errors


async def test_score_sheet_errors(suite):
    w = await make_world(suite)
    worker, draw = await open_and_draw(suite, w, "cycle-e", keys="B", non_compliant="")
    a = draw.assignments[0]
    rv = suite.stub("review", w.tokens[a.expert_user_id])

    # Not declared yet.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        rv.SubmitScoreSheet(pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet("0.8"))),
    )
    assert "declare" in err.message

    # Another expert's assignment looks missing; so does an unknown one.
    stranger = next(
        uid for uid in w.experts.values() if uid not in {x.expert_user_id for x in draw.assignments}
    )
    other = suite.stub("review", w.tokens[stranger])
    await expect(
        grpc.StatusCode.NOT_FOUND,
        other.DeclareConflict(pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False)),
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        other.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet("0.8"))
        ),
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        rv.DeclareConflict(pb.DeclareConflictRequest(assignment_id="asg_unknown", has_conflict=False)),
    )
    # Workflow-only RPCs are refused to experts; experts' RPCs to others.
    await expect(
        grpc.StatusCode.PERMISSION_DENIED, rv.DrawPanels(pb.DrawPanelsRequest(cycle_id="cycle-e", seed=1))
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        worker.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet("0.8"))
        ),
    )

    await rv.DeclareConflict(pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False))

    # Out of range, too many decimals, not a number: each names its field.
    bad = sheet("0.8")
    bad[2].points = "99"
    bad[4].points = "1.234"
    bad[5].points = "abc"
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        rv.SubmitScoreSheet(pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=bad)),
    )
    assert {v.field for v in err.violations} == {"scores[4].points", "scores[5].points"}
    only_range = sheet("0.8")
    only_range[2].points = "99"
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        rv.SubmitScoreSheet(pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=only_range)),
    )
    assert "scores[2].points" in {v.field for v in err.violations}
    # A missing indicator names the sheet.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        rv.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet("0.8")[:-1])
        ),
    )
    assert "scores" in {v.field for v in err.violations}
    # A low score without justification names the justification.
    low = sheet("0.2")
    low[0].justification = ""
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        rv.SubmitScoreSheet(pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=low)),
    )
    assert "scores[0].justification" in {v.field for v in err.violations}

    # Nothing was stored by the refused submissions: the first good one is version 1.
    ok = await rv.SubmitScoreSheet(
        pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet("0.8"))
    )
    assert ok.sheet.version == 1
    assert ok.sheet.total == "80.00"


async def test_phase_and_publicity_errors(suite):
    w = await make_world(suite)
    worker = suite.stub("review", await suite.worker_token())
    await expect(grpc.StatusCode.NOT_FOUND, worker.DrawPanels(pb.DrawPanelsRequest(cycle_id="nope", seed=1)))
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.OpenReview(pb.OpenReviewRequest(cycle_id="c", policy_json='{"policy_id": "x"}')),
    )
    assert {v.field for v in err.violations} == {"policy_json"}
    worker, draw = await open_and_draw(suite, w, "cycle-p", keys="BC", non_compliant="", size=1)
    # Publicity before the proposal: wrong phase.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.OpenPublicity(
            pb.OpenPublicityRequest(cycle_id="cycle-p", ends_at=stamp(datetime.now(UTC) + timedelta(days=1)))
        ),
    )
    assert err.metadata["phase"] == "EXPERT_REVIEW"
    await score_everything(suite, w, "cycle-p", {"app-b": "0.95", "app-c": "0.85"})
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id="cycle-p"))
    # A publicity that has already ended refuses objections.
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(cycle_id="cycle-p", ends_at=stamp(datetime.now(UTC) - timedelta(seconds=1)))
    )
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        suite.stub("review", w.applicant).FileObjection(
            pb.FileObjectionRequest(
                cycle_id="cycle-p",
                application_id="app-b",
                objector_name="王五",
                objector_contact="137",
                content="x",
            )
        ),
    )
    assert err.reason == "PUBLICITY_ENDED"
    assert "ended" in err.message
    # Declaring after the proposal: wrong phase.
    a = draw.assignments[0]
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        suite.stub("review", w.tokens[a.expert_user_id]).DeclareConflict(
            pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False)
        ),
    )
    assert err.metadata["phase"] == "PUBLICITY"
    closed = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id="cycle-p"))
    assert not closed.changed
    assert [x.application_id for x in sorted(closed.proposal.lines, key=lambda x: x.rank)] == [
        "app-b",
        "app-c",
    ]


async def test_recusal_without_replacement_still_recuses(suite):
    w = await make_world(suite, n_clean=0)  # x_emp and x_share only: both eligible for B
    worker, draw = await open_and_draw(suite, w, "cycle-r", keys="B", non_compliant="")
    assert len(draw.assignments) == 2  # fewer eligible than the panel size of 3: all are taken
    a = draw.assignments[0]
    resp = await suite.stub("review", w.tokens[a.expert_user_id]).DeclareConflict(
        pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=True, statement="亲属任职")
    )
    assert resp.assignment.status == pb.ASSIGNMENT_STATUS_RECUSED
    assert not resp.HasField("replacement")
    draw_again = await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id="cycle-r"))
    assert ("app-b", a.expert_user_id, "self_declared") in {
        (x.application_id, x.expert_user_id, x.reason) for x in draw_again.exclusions
    }
    # The remaining expert scores; the recused one is not waited for.
    await score_everything(suite, w, "cycle-r", {"app-b": "0.90"})
    proposal = (await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id="cycle-r"))).proposal
    assert proposal.lines[0].final_score == "90.00"
    assert proposal.lines[0].tier == pb.TIER_EXCELLENT


# ---------------------------------------------------------------------------------- outliers, ties


async def test_proposal_flags_a_deviant_expert_and_names_the_tie_breaker(suite):
    # 9 experts, panels of 7 on B; C and D tie (same scores) and are separated by submission time.
    w = await make_world(suite, n_clean=7)
    cycle = "cycle-flags"
    worker, draw = await open_and_draw(suite, w, cycle, keys="BCD", non_compliant="", size=7)
    on_b = [a for a in draw.assignments if a.application_id == "app-b"]
    assert len(on_b) == 7
    deviant = on_b[0].expert_user_id
    for a in await all_assignments(worker, cycle_id=cycle):
        rv = suite.stub("review", w.tokens[a.expert_user_id])
        await rv.DeclareConflict(pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False))
        fraction = {"app-b": "0.90", "app-c": "0.85", "app-d": "0.85"}[a.application_id]
        if a.application_id == "app-b" and a.expert_user_id == deviant:
            fraction = "0.50"  # six at 90, one at 50: 2.27 population sd from the mean
        await rv.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet(fraction))
        )
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle))
    proposal = (
        await suite.stub("review", w.province).GetProposal(pb.GetProposalRequest(cycle_id=cycle))
    ).proposal
    lines = {x.application_id: x for x in proposal.lines}
    assert list(lines["app-b"].flagged_experts) == [deviant]
    assert deviant in lines["app-b"].reason
    assert lines["app-b"].final_score == "90.00"  # the deviant sheet was trimmed away
    assert list(lines["app-c"].flagged_experts) == []
    assert list(lines["app-d"].flagged_experts) == []
    assert lines["app-b"].tie_break == ""
    assert (lines["app-c"].rank, lines["app-d"].rank) == (2, 3)
    assert lines["app-c"].tie_break == lines["app-d"].tie_break == "submitted_at"
    # Officials read the expert's name (identity's display name), never the internal id.
    name = next(f"专家{k}" for k, uid in w.experts.items() if uid == deviant)
    assert list(lines["app-b"].flagged_expert_names) == [name]
    province = suite.stub("review", w.province)
    export = pb.ExportDocumentRequest(cycle_id=cycle, kind=pb.DOCUMENT_KIND_PROPOSAL)
    export.format = pb.EXPORT_FORMAT_PDF
    pdf = (await province.ExportDocument(export)).content
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"评审专家{name}的评分与专家组均值偏差较大" in text
    assert deviant not in text
    export.format = pb.EXPORT_FORMAT_XLSX
    ws = openpyxl.load_workbook(io.BytesIO((await province.ExportDocument(export)).content)).active
    cells = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert any(name in c for c in cells)
    assert not any(deviant in c for c in cells)


# ---------------------------------------------------------------------------------- on-site reviews


def _onsite(cycle: str, app: str = "app-b", **kw) -> pb.RecordOnSiteReviewRequest:
    fields = {
        "cycle_id": cycle,
        "application_id": app,
        "kind": pb.ON_SITE_REVIEW_KIND_SITE_VISIT,
        "held_on": str(date.today() - timedelta(days=1)),
        "participants": ["张三（省工信厅）", "李四（专家）"],
        "findings": "生产线与申报材料一致 / production line as declared",
    }
    fields.update(kw)
    return pb.RecordOnSiteReviewRequest(**fields)


async def test_on_site_reviews_are_recorded_in_review_phases_and_read_by_province_and_auditors(suite):
    w = await make_world(suite, n_clean=4)
    ident = await suite.admin()
    await ident.CreateUser(
        ipb.CreateUserRequest(username="audit", display_name="审计", password=PASSWORD, roles=["auditor"])
    )
    auditor = suite.stub("review", await suite.login("audit", PASSWORD))
    province = suite.stub("review", w.province)
    worker = suite.stub("review", await suite.worker_token())
    cycle = "cycle-onsite"
    await worker.OpenReview(
        pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json(), candidates=candidates(w, "BC"))
    )

    # COMPLIANCE_REVIEW: a defence is recorded.
    defence = (
        await province.RecordOnSiteReview(
            _onsite(cycle, kind=pb.ON_SITE_REVIEW_KIND_DEFENCE, participants=[" 王五（省工信厅） "])
        )
    ).on_site_review
    assert defence.on_site_review_id
    assert defence.kind == pb.ON_SITE_REVIEW_KIND_DEFENCE
    assert list(defence.participants) == ["王五（省工信厅）"]
    assert defence.recorded_by

    # Bad requests name each field; unknown applications are not found.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        province.RecordOnSiteReview(
            _onsite(
                cycle,
                kind=pb.ON_SITE_REVIEW_KIND_UNSPECIFIED,
                held_on=str(date.today() + timedelta(days=2)),
                participants=[],
                findings="",
            )
        ),
    )
    assert {v.field for v in err.violations} == {"kind", "held_on", "participants", "findings"}
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT, province.RecordOnSiteReview(_onsite(cycle, held_on="2026/05/01"))
    )
    assert [v.field for v in err.violations] == ["held_on"]
    await expect(grpc.StatusCode.NOT_FOUND, province.RecordOnSiteReview(_onsite(cycle, app="app-zz")))
    await expect(grpc.StatusCode.NOT_FOUND, province.RecordOnSiteReview(_onsite("cycle-none")))

    # Only province industry records; experts and applicants may not read.
    await expect(grpc.StatusCode.PERMISSION_DENIED, auditor.RecordOnSiteReview(_onsite(cycle)))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        suite.stub("review", w.applicant).ListOnSiteReviews(pb.ListOnSiteReviewsRequest(cycle_id=cycle)),
    )
    expert = suite.stub("review", w.tokens[w.experts["c1"]])
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        expert.ListOnSiteReviews(pb.ListOnSiteReviewsRequest(cycle_id=cycle)),
    )

    # EXPERT_REVIEW: a site visit on C.
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision("app-b"), decision("app-c")])
    )
    await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=42))
    visit = (await province.RecordOnSiteReview(_onsite(cycle, app="app-c"))).on_site_review

    listed = (await auditor.ListOnSiteReviews(pb.ListOnSiteReviewsRequest(cycle_id=cycle))).on_site_reviews
    assert {x.on_site_review_id for x in listed} == {defence.on_site_review_id, visit.on_site_review_id}
    only_c = (
        await province.ListOnSiteReviews(pb.ListOnSiteReviewsRequest(cycle_id=cycle, application_id="app-c"))
    ).on_site_reviews
    assert [x.on_site_review_id for x in only_c] == [visit.on_site_review_id]
    assert only_c[0].findings.startswith("生产线")
    assert only_c[0].held_on == str(date.today() - timedelta(days=1))
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ListOnSiteReviews(pb.ListOnSiteReviewsRequest(cycle_id=cycle, application_id="app-zz")),
    )

    # After the proposal: refused, naming the phase.
    await score_everything(suite, w, cycle, {"app-b": "0.90", "app-c": "0.85"})
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle))
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, province.RecordOnSiteReview(_onsite(cycle)))
    assert err.metadata["phase"] == "PROPOSAL"
    assert "PROPOSAL" in err.message
    assert "COMPLIANCE_REVIEW" in err.message
    assert "EXPERT_REVIEW" in err.message


# ------------------------------------------------------------- materials after the declaration


async def test_expert_sees_materials_only_after_declaring_no_conflict(suite):
    w = await make_world(suite)
    _worker, draw = await open_and_draw(suite, w, "cycle-m", keys="AB", non_compliant="")
    on_a = [a for a in draw.assignments if a.application_id == "app-a"]
    first, second = on_a[0], on_a[1]
    mine = suite.stub("review", w.tokens[first.expert_user_id])
    req = pb.GetAssignmentMaterialsRequest(assignment_id=first.assignment_id)

    # Pending declaration: refused, and nothing of the materials in the refusal.
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, mine.GetAssignmentMaterials(req))
    assert err.reason == "DECLARATION_REQUIRED"
    assert "declare no conflict first" in err.message
    assert "A-application_form" not in f"{err.message} {err.message_zh} {err.metadata}"
    # Another expert's assignment (even one on the same application) looks missing; other roles are refused.
    other = suite.stub("review", w.tokens[second.expert_user_id])
    await expect(grpc.StatusCode.NOT_FOUND, other.GetAssignmentMaterials(req))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED, suite.stub("review", w.province).GetAssignmentMaterials(req)
    )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT, mine.GetAssignmentMaterials(pb.GetAssignmentMaterialsRequest())
    )

    # Declared no conflict: the application's materials, as intake recorded them.
    await mine.DeclareConflict(
        pb.DeclareConflictRequest(assignment_id=first.assignment_id, has_conflict=False)
    )
    shown = await mine.GetAssignmentMaterials(req)
    assert (shown.application_id, shown.enterprise_name, shown.title) == (
        "app-a",
        "企业A有限公司",
        "企业A算力服务项目",
    )
    assert list(shown.materials) == materials_of("A")
    # Still only the assigned expert, after the declaration too.
    await expect(grpc.StatusCode.NOT_FOUND, other.GetAssignmentMaterials(req))
    # After scoring the expert may read them again (e.g. to correct a sheet).
    await mine.SubmitScoreSheet(
        pb.SubmitScoreSheetRequest(assignment_id=first.assignment_id, scores=sheet("0.9"))
    )
    assert list((await mine.GetAssignmentMaterials(req)).materials) == materials_of("A")

    # A recused expert never sees them.
    await other.DeclareConflict(
        pb.DeclareConflictRequest(assignment_id=second.assignment_id, has_conflict=True, statement="亲属任职")
    )
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        other.GetAssignmentMaterials(pb.GetAssignmentMaterialsRequest(assignment_id=second.assignment_id)),
    )
    assert err.reason == "RECUSED"


# ------------------------------------------------------------ objectors' contacts (personal data)


async def test_objector_contact_is_encrypted_at_rest_clear_for_province_industry_masked_for_others(
    suite, caplog
):
    import logging
    import sqlite3

    caplog.set_level(logging.DEBUG)
    w = await make_world(suite)
    ident = await suite.admin()
    for username, role in (("audit", "auditor"), ("pfin", "province_finance")):
        await ident.CreateUser(
            ipb.CreateUserRequest(username=username, display_name=username, password=PASSWORD, roles=[role])
        )
    auditor = suite.stub("review", await suite.login("audit", PASSWORD))
    finance = suite.stub("review", await suite.login("pfin", PASSWORD))
    province = suite.stub("review", w.province)
    appl = suite.stub("review", w.applicant)

    cycle = "cycle-pii"
    worker, _ = await open_and_draw(suite, w, cycle)
    await score_everything(
        suite, w, cycle, {"app-a": "0.95", "app-b": "0.85", "app-c": "0.82", "app-d": "0.70"}
    )
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle, budget_fen=3_000_000 * 100))
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(
            cycle_id=cycle, proposal_version=1, ends_at=stamp(datetime.now(UTC) + timedelta(days=7))
        )
    )
    phone, email = "13812345678", "zhangsan@example.com"
    filed = (
        await appl.FileObjection(
            pb.FileObjectionRequest(
                cycle_id=cycle,
                application_id="app-a",
                objector_name="张三",
                objector_contact=phone,
                content="数据造假",
            )
        )
    ).objection
    # The filer (an applicant) gets it back masked as well.
    assert filed.objector_contact == "138****5678"
    by_mail = (
        await province.FileObjection(
            pb.FileObjectionRequest(
                cycle_id=cycle,
                application_id="app-b",
                objector_name="李四",
                objector_contact=email,
                content="存疑",
            )
        )
    ).objection
    assert by_mail.objector_contact == email  # province industry files and reads it in clear

    # At rest: ciphertext only, no clear digits, no e-mail address.
    db = sqlite3.connect(suite.settings.data_dir / "review.db")
    stored = dict(db.execute("SELECT objection_id, objector_contact FROM objections").fetchall())
    db.close()
    assert set(stored) == {filed.objection_id, by_mail.objection_id}
    for value in stored.values():
        assert value.startswith("sm4gcm1:")
        assert phone not in value
        assert "12345678" not in value
        assert "zhangsan" not in value
        assert "example" not in value

    def contacts(resp) -> dict[str, str]:
        return {o.objection_id: o.objector_contact for o in resp.objections}

    listing = pb.ListObjectionsRequest(cycle_id=cycle)
    # Province industry (investigates and must reach the objector): in clear.
    assert contacts(await province.ListObjections(listing)) == {
        filed.objection_id: phone,
        by_mail.objection_id: email,
    }
    # Every other reader: masked.
    masked = {filed.objection_id: "138****5678", by_mail.objection_id: "z***@example.com"}
    assert contacts(await auditor.ListObjections(listing)) == masked
    assert contacts(await finance.ListObjections(listing)) == masked
    assert contacts(await worker.ListObjections(listing)) == masked
    decided = await province.RecordInvestigation(
        investigation(by_mail.objection_id, upheld=False, findings="经核实无问题")
    )
    assert decided.objection.objector_contact == email

    # A ciphertext copied into another row does not decrypt there (bound to its objection id).
    db = sqlite3.connect(suite.settings.data_dir / "review.db")
    db.execute(
        "UPDATE objections SET objector_contact = ? WHERE objection_id = ?",
        (stored[filed.objection_id], by_mail.objection_id),
    )
    db.commit()
    db.close()
    assert contacts(await province.ListObjections(listing))[by_mail.objection_id] == "***"

    # A contact stored in clear before encryption at rest is encrypted when review starts.
    db = sqlite3.connect(suite.settings.data_dir / "review.db")
    db.execute(
        "UPDATE objections SET objector_contact = ? WHERE objection_id = ?",
        ("13900001111", by_mail.objection_id),
    )
    db.commit()
    db.close()
    await suite.hosts["review"].app.start()
    db = sqlite3.connect(suite.settings.data_dir / "review.db")
    again = dict(db.execute("SELECT objection_id, objector_contact FROM objections").fetchall())
    db.close()
    assert again[filed.objection_id] == stored[filed.objection_id]  # already encrypted: unchanged
    assert again[by_mail.objection_id].startswith("sm4gcm1:")
    assert "13900001111" not in again[by_mail.objection_id]
    assert contacts(await province.ListObjections(listing))[by_mail.objection_id] == "13900001111"
    assert contacts(await auditor.ListObjections(listing))[by_mail.objection_id] == "139****1111"

    # One SM4 key for the installation: review reuses identity's dev-mode key file.
    key_file = suite.settings.data_dir / "secrets" / "sm4-key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    ciphers = [suite.hosts[svc].app.cipher for svc in ("identity", "review")]
    token = ciphers[0].encrypt("x", "probe")
    assert ciphers[1].decrypt(token, "probe") == "x"
    # Never logged.
    for secret in (phone, email, "13900001111"):
        assert secret not in caplog.text


# ---------------------------------------------------------------------------------- pages


async def _pages(call, request, field: str) -> list[list]:
    """Every page of a list RPC from ``request`` on: the items of each page."""
    pages, token = [], ""
    while True:
        request.page_token = token
        resp = await call(request)
        pages.append(list(getattr(resp, field)))
        token = resp.next_page_token
        if not token:
            return pages


async def test_lists_come_in_pages_bound_to_their_caller_and_filter(suite):
    w = await make_world(suite, n_clean=4)
    ident = await suite.admin()
    await ident.CreateUser(
        ipb.CreateUserRequest(username="audit-p", display_name="审计", password=PASSWORD, roles=["auditor"])
    )
    auditor = suite.stub("review", await suite.login("audit-p", PASSWORD))
    province = suite.stub("review", w.province)
    worker = suite.stub("review", await suite.worker_token())

    # 60 candidates (more than the default page), each with a compliance decision.
    cycle = "cycle-pages"
    base = datetime(2026, 5, 1, tzinfo=UTC)
    many = [
        pb.Candidate(
            application_id=f"app-{i:03d}",
            organization_id=f"org-{i:03d}",
            enterprise_name=f"企业{i}",
            city_code="370200",
            submitted_at=stamp(base + timedelta(minutes=i)),
        )
        for i in range(60)
    ]
    await worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json(), candidates=many))
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id=cycle, decisions=[decision(c.application_id, i % 7 != 0) for i, c in enumerate(many)]
        )
    )
    everyone = [c.application_id for c in many]

    # Default page 50, then the rest; a page larger than the maximum is capped at 500 (all here).
    default = await _pages(
        province.ListComplianceReviews, pb.ListComplianceReviewsRequest(cycle_id=cycle), "reviews"
    )
    assert [len(p) for p in default] == [50, 10]
    assert [r.application_id for p in default for r in p] == everyone
    big = await province.ListComplianceReviews(
        pb.ListComplianceReviewsRequest(cycle_id=cycle, page_size=100000)
    )
    assert [r.application_id for r in big.reviews] == everyone
    assert not big.next_page_token
    sevens = await _pages(
        auditor.ListComplianceReviews, pb.ListComplianceReviewsRequest(cycle_id=cycle, page_size=7), "reviews"
    )
    assert [len(p) for p in sevens] == [7] * 8 + [4]
    assert [r.application_id for p in sevens for r in p] == everyone
    assert [r.compliant for p in sevens for r in p] == [i % 7 != 0 for i in range(60)]

    # A token is refused to another caller, with another filter, or altered; a negative size too.
    first = await province.ListComplianceReviews(pb.ListComplianceReviewsRequest(cycle_id=cycle, page_size=7))
    token = first.next_page_token
    refusals = [
        auditor.ListComplianceReviews(pb.ListComplianceReviewsRequest(cycle_id=cycle, page_token=token)),
        province.ListComplianceReviews(
            pb.ListComplianceReviewsRequest(cycle_id="cycle-other", page_token=token)
        ),
        province.ListComplianceReviews(
            pb.ListComplianceReviewsRequest(cycle_id=cycle, page_token=token[:-2] + "xy")
        ),
        province.ListComplianceReviews(pb.ListComplianceReviewsRequest(cycle_id=cycle, page_token="garbage")),
    ]
    for call in refusals:
        err = await expect(grpc.StatusCode.INVALID_ARGUMENT, call)
        assert [v.field for v in err.violations] == ["page_token"]
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        province.ListComplianceReviews(pb.ListComplianceReviewsRequest(cycle_id=cycle, page_size=-1)),
    )
    assert [v.field for v in err.violations] == ["page_size"]
    # The same caller continues with the same filter (and may change the page size).
    rest = await province.ListComplianceReviews(
        pb.ListComplianceReviewsRequest(cycle_id=cycle, page_size=500, page_token=token)
    )
    assert [r.application_id for r in rest.reviews] == everyone[7:]
    assert not rest.next_page_token

    # Assignments: every page of the worker's listing is the whole draw in draw order; an expert's
    # pages hold only their own, and their token is theirs.
    drawn = "cycle-pages-draw"
    _, draw = await open_and_draw(suite, w, drawn, keys="BCD", non_compliant="")
    pages = await _pages(
        worker.ListAssignments, pb.ListAssignmentsRequest(cycle_id=drawn, page_size=4), "assignments"
    )
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [a.assignment_id for p in pages for a in p] == [a.assignment_id for a in draw.assignments]
    expert_id = draw.assignments[0].expert_user_id
    expert = suite.stub("review", w.tokens[expert_id])
    own = await _pages(expert.ListAssignments, pb.ListAssignmentsRequest(page_size=1), "assignments")
    assert [a.assignment_id for p in own for a in p] == [
        a.assignment_id for a in draw.assignments if a.expert_user_id == expert_id
    ]
    assert len(own) > 1
    assert all(len(p) == 1 for p in own)
    mine = await expert.ListAssignments(pb.ListAssignmentsRequest(page_size=1))
    other = next(a.expert_user_id for a in draw.assignments if a.expert_user_id != expert_id)
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        suite.stub("review", w.tokens[other]).ListAssignments(
            pb.ListAssignmentsRequest(page_size=1, page_token=mine.next_page_token)
        ),
    )
    assert [v.field for v in err.violations] == ["page_token"]

    # On-site reviews: pages within the application filter; the token is bound to that filter.
    for _ in range(3):
        await province.RecordOnSiteReview(_onsite(drawn, app="app-b"))
    await province.RecordOnSiteReview(_onsite(drawn, app="app-c"))
    on_b = await _pages(
        auditor.ListOnSiteReviews,
        pb.ListOnSiteReviewsRequest(cycle_id=drawn, application_id="app-b", page_size=2),
        "on_site_reviews",
    )
    assert [len(p) for p in on_b] == [2, 1]
    assert {x.application_id for p in on_b for x in p} == {"app-b"}
    every = await _pages(
        auditor.ListOnSiteReviews, pb.ListOnSiteReviewsRequest(cycle_id=drawn, page_size=3), "on_site_reviews"
    )
    assert [len(p) for p in every] == [3, 1]
    first_b = await auditor.ListOnSiteReviews(
        pb.ListOnSiteReviewsRequest(cycle_id=drawn, application_id="app-b", page_size=2)
    )
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        auditor.ListOnSiteReviews(
            pb.ListOnSiteReviewsRequest(
                cycle_id=drawn, application_id="app-c", page_size=2, page_token=first_b.next_page_token
            )
        ),
    )
    assert [v.field for v in err.violations] == ["page_token"]
