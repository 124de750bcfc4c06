"""Review's records of a year over real gRPC (identity and review in process, intake stood in by a
gRPC server at intake's address): the review opened from intake's recommended applications;
proposal versions that cannot bypass approval (revisions within the caps, the quota mode and the
budget; an upheld objection sends the changed list back); the publicity notices, the objections'
investigations and the announcement; and each refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.policy import find_policy
from aicc.review.v1 import review_pb2 as pb
from services.identity.domain.uscc import make_uscc
from tests.service.test_review import (
    World,
    decision,
    expect,
    investigation,
    make_world,
    materials_of,
    score_everything,
    stamp,
)
from tests.support.fakes_review import FakeIntakeServer, serve_fake_intake
from tests.support.suite import InProcessSuite, suite_settings

WAN = 1_000_000  # fen in 1 万元
DOC_NO = "鲁工信数据〔2026〕88号"


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity", "review"]) as s:
        yield s


def uscc_of(k: str) -> str:
    return make_uscc("370212", 100 + "ABCDE".index(k))


def intake_applications(w: World, cycle: str, keys: str = "ABCDE") -> list[inpb.Application]:
    """What intake holds for ``cycle``: the applications of ``keys`` recommended, one more only
    submitted (not recommended), with their USCC and materials."""
    base = datetime(2026, 5, 1, tzinfo=UTC)
    apps = [
        inpb.Application(
            application_id=f"{cycle}-{k.lower()}",
            cycle_id=cycle,
            organization_id=w.orgs[k],
            operator_organization_id=w.orgs["A-op"] if k == "A" else "",
            enterprise_name=f"企业{k}有限公司",
            city_code="370200",
            title=f"企业{k}算力服务项目",
            status=inpb.APPLICATION_STATUS_RECOMMENDED,
            submitted_at=stamp(base + timedelta(hours=i)),
            uscc=uscc_of(k),
            materials=[
                inpb.Material(
                    material_id=m.material_id,
                    kind=m.kind,
                    filename=m.filename,
                    sha256=m.sha256,
                    size_bytes=m.size_bytes,
                )
                for m in materials_of(k)
            ],
        )
        for i, k in enumerate(keys)
    ]
    submitted_only = inpb.Application()
    submitted_only.CopyFrom(apps[0])
    submitted_only.application_id = f"{cycle}-not-recommended"
    submitted_only.status = inpb.APPLICATION_STATUS_SUBMITTED
    return [*apps, submitted_only]


def policy_json(**top) -> str:
    data = find_policy("shandong-2026").to_jsonable()
    data["panel"] = {"size": 3, "max_load_per_expert": 20, "conflict_lookback_years": 3}
    data.update(top)
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture
async def intake(suite):
    fake = FakeIntakeServer([], page_size=2)
    server = await serve_fake_intake(suite.settings.address("intake"), fake)
    yield fake
    await server.stop(0)


async def a_year(
    suite, w: World, intake: FakeIntakeServer, cycle: str, *, budget_wan: int = 300, **policy
) -> pb.Proposal:
    """Opened from intake, all compliant, drawn, scored A 95, B 85, C 82, D 70, E 60, computed:
    A excellent (200 万元) and B advanced (100 万元) within 300 万元; C a reserve; D and E no tier."""
    intake.applications += intake_applications(w, cycle)
    worker = suite.stub("review", await suite.worker_token())
    opened = await worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json(**policy)))
    assert opened.candidates == 5
    apps = [f"{cycle}-{k}" for k in "abcde"]
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(cycle_id=cycle, decisions=[decision(a) for a in apps])
    )
    await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=20260901))
    await score_everything(
        suite, w, cycle, dict(zip(apps, ["0.95", "0.85", "0.82", "0.70", "0.60"], strict=True))
    )
    return (
        await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle, budget_fen=budget_wan * WAN))
    ).proposal


def by_app(p: pb.Proposal) -> dict[str, pb.ProposalLine]:
    return {x.application_id.rsplit("-", 1)[1]: x for x in p.lines}


# ------------------------------------------------------------------- candidates from intake


async def test_the_review_opens_with_intakes_recommended_applications(suite, intake):
    w = await make_world(suite)
    cycle = "cy-open"
    intake.applications += intake_applications(w, cycle) + intake_applications(w, "cy-other", "B")
    worker_token = await suite.worker_token()
    worker = suite.stub("review", worker_token)

    # No candidates in the request: review pages through intake's RECOMMENDED applications with the
    # caller's (the workflow's) token, and reads each one's materials.
    opened = await worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json()))
    assert opened.candidates == 5
    lists = [(r, auth) for m, r, auth in intake.calls if m == "ListApplications"]
    assert [r.page_token for r, _ in lists] == ["", "2", "4"]
    assert {(r.cycle_id, r.status) for r, _ in lists} == {(cycle, inpb.APPLICATION_STATUS_RECOMMENDED)}
    assert {auth for m, _, auth in intake.calls} == {f"Bearer {worker_token}"}
    assert sorted(r.application_id for m, r, _ in intake.calls if m == "GetApplication") == [
        f"{cycle}-{k}" for k in "abcde"
    ]

    # Retried by the workflow: the same answer, intake not asked again.
    asked = len(intake.calls)
    assert (
        await worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json()))
    ).candidates == 5
    assert len(intake.calls) == asked

    # The candidates carry what intake recorded: the materials an assigned expert reads after
    # declaring no conflict, and the USCC on the proposal's lines.
    apps = [f"{cycle}-{k}" for k in "abcde"]
    counts = await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id=cycle, decisions=[decision(a, ok=a != f"{cycle}-e") for a in apps]
        )
    )
    assert (counts.decided, counts.compliant, counts.remaining) == (5, 4, 0)
    draw = await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=11))
    on_b = next(a for a in draw.assignments if a.application_id == f"{cycle}-b")
    expert = suite.stub("review", w.tokens[on_b.expert_user_id])
    await expert.DeclareConflict(
        pb.DeclareConflictRequest(assignment_id=on_b.assignment_id, has_conflict=False)
    )
    seen = await expert.GetAssignmentMaterials(
        pb.GetAssignmentMaterialsRequest(assignment_id=on_b.assignment_id)
    )
    assert [m.filename for m in seen.materials] == [m.filename for m in materials_of("B")]
    assert seen.title == "企业B算力服务项目"
    await score_everything(suite, w, cycle, {a: "0.9" for a in apps})
    proposal = (await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle))).proposal
    assert {x.application_id: x.uscc for x in proposal.lines} == {
        f"{cycle}-{k.lower()}": uscc_of(k) for k in "ABCD"
    }


async def test_intake_unreachable_opens_nothing_and_a_retry_opens(suite, intake):
    w = await make_world(suite, n_clean=2)
    cycle = "cy-down"
    intake.applications += intake_applications(w, cycle)
    worker = suite.stub("review", await suite.worker_token())
    intake.down = True
    err = await expect(
        grpc.StatusCode.UNAVAILABLE,
        worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json())),
    )
    assert err.reason == "DEPENDENCY_UNAVAILABLE"
    province = suite.stub("review", w.province)
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ListComplianceReviews(pb.ListComplianceReviewsRequest(cycle_id=cycle)),
    )
    intake.down = False
    assert (
        await worker.OpenReview(pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json()))
    ).candidates == 5


# ------------------------------------------------------------------- revisions


async def test_a_returned_proposal_is_revised_within_caps_quota_and_budget(suite, intake):
    w = await make_world(suite)
    cycle = "cy-rev"
    v1 = await a_year(suite, w, intake, cycle, quota=2, quota_mode="hard")
    lines = by_app(v1)
    assert (lines["a"].amount_fen, lines["a"].cap_fen) == (200 * WAN, 200 * WAN)
    assert (lines["b"].amount_fen, lines["b"].cap_fen) == (100 * WAN, 100 * WAN)
    assert lines["c"].reserve
    assert (v1.basis, v1.previous_version, v1.reserve_count) == ("computed", 0, 1)
    worker = suite.stub("review", await suite.worker_token())
    province = suite.stub("review", w.province)

    def revise(base: int, *changes: pb.ProposalChange, note: str = "") -> pb.ReviseProposalRequest:
        return pb.ReviseProposalRequest(
            cycle_id=cycle, base_version=base, changes=list(changes), note=note, decided_by="usr_prov_ind"
        )

    b, c = f"{cycle}-b", f"{cycle}-c"
    # Above the tier's cap: refused, naming the line (Art. 11 "at most").
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.ReviseProposal(
            revise(1, pb.ProposalChange(application_id=b, amount_fen=150 * WAN, reason="增加"))
        ),
    )
    assert [v.field for v in err.violations] == ["changes[0].amount_fen"]
    assert b in err.message
    assert "企业B有限公司" in err.message_zh
    # A reason for every change; no version but the latest.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.ReviseProposal(revise(1, pb.ProposalChange(application_id=b, amount_fen=80 * WAN))),
    )
    assert [v.field for v in err.violations] == ["changes[0].reason"]
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.ReviseProposal(
            revise(2, pb.ProposalChange(application_id=b, amount_fen=80 * WAN, reason="核减"))
        ),
    )
    assert err.reason == "STALE_PROPOSAL_VERSION"
    # The quota is hard in this policy: a third award is refused.
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.ReviseProposal(revise(1, pb.ProposalChange(application_id=c, promote=True, reason="递补"))),
    )
    assert err.reason == "QUOTA_EXCEEDED"
    assert "hard" in err.message

    # Below the cap with a reason: version 2, the reason on its line; version 1 kept.
    change = pb.ProposalChange(application_id=b, amount_fen=80 * WAN, reason="核减：部分设备尚未到位")
    v2 = (await worker.ReviseProposal(revise(1, change, note="财政厅退回意见"))).proposal
    assert (v2.version, v2.basis, v2.previous_version) == (2, "revised", 1)
    assert "财政厅退回意见" in v2.reason
    assert (by_app(v2)["b"].amount_fen, by_app(v2)["b"].revision_reason) == (
        80 * WAN,
        "核减：部分设备尚未到位",
    )
    assert by_app(v2)["a"].revision_reason == ""
    assert v2.allocated_fen == 280 * WAN
    assert by_app(v2)["b"].budget_left_fen == 20 * WAN
    # Retried: the same version, not a third.
    again = (await worker.ReviseProposal(revise(1, change, note="财政厅退回意见"))).proposal
    assert again.version == 2
    assert (await province.GetProposal(pb.GetProposalRequest(cycle_id=cycle))).proposal.version == 2
    assert (await province.GetProposal(pb.GetProposalRequest(cycle_id=cycle, version=1))).proposal == v1

    # 0 removes an award; a promoted reserve comes in at its cap; within quota and budget.
    v3 = (
        await worker.ReviseProposal(
            revise(
                2,
                pb.ProposalChange(application_id=f"{cycle}-a", amount_fen=0, reason="撤销：承诺事项未落实"),
                pb.ProposalChange(application_id=c, promote=True, reason="按排名递补"),
            )
        )
    ).proposal
    lines3 = by_app(v3)
    assert (lines3["a"].amount_fen, lines3["a"].reserve) == (0, False)
    assert (lines3["c"].amount_fen, lines3["c"].reserve, lines3["c"].revision_reason) == (
        100 * WAN,
        False,
        "按排名递补",
    )
    assert (v3.allocated_fen, v3.reserve_count) == (180 * WAN, 0)
    # Lines that cannot take a change are named.
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.ReviseProposal(
            revise(
                3,
                pb.ProposalChange(application_id=c, promote=True, reason="x"),
                pb.ProposalChange(application_id=f"{cycle}-d", amount_fen=WAN, reason="x"),
                pb.ProposalChange(application_id="nope", amount_fen=WAN, reason="x"),
            )
        ),
    )
    assert [v.field for v in err.violations] == [
        "changes[0].promote",
        "changes[1].amount_fen",
        "changes[2].application_id",
    ]
    assert "already funded" in err.violations[0].description
    assert "no tier" in err.violations[1].description

    # Once publicised, the list is no longer revised here.
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(cycle_id=cycle, ends_at=stamp(datetime.now(UTC) + timedelta(days=7)))
    )
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.ReviseProposal(revise(3, pb.ProposalChange(application_id=b, amount_fen=WAN, reason="x"))),
    )
    assert err.metadata["phase"] == "PUBLICITY"
    # Only the workflow's service account reaches it (province industry goes through intake).
    await expect(grpc.StatusCode.PERMISSION_DENIED, province.ReviseProposal(revise(3, change)))


async def test_a_soft_quota_may_be_exceeded_with_a_reason_but_never_the_budget(suite, intake):
    w = await make_world(suite)
    cycle = "cy-soft"
    v1 = await a_year(suite, w, intake, cycle, budget_wan=250, quota=1, quota_mode="soft")
    assert [k for k, x in by_app(v1).items() if x.amount_fen] == ["a"]  # the quota of 1
    worker = suite.stub("review", await suite.worker_token())
    b = f"{cycle}-b"

    def promote(amount: int, note: str) -> pb.ReviseProposalRequest:
        return pb.ReviseProposalRequest(
            cycle_id=cycle,
            base_version=1,
            changes=[
                pb.ProposalChange(application_id=b, amount_fen=amount, promote=True, reason="专家组建议增补")
            ],
            note=note,
            decided_by="usr_prov_ind",
        )

    err = await expect(grpc.StatusCode.INVALID_ARGUMENT, worker.ReviseProposal(promote(0, "")))
    assert [v.field for v in err.violations] == ["note"]
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, worker.ReviseProposal(promote(0, "超出名额的理由"))
    )
    assert err.reason == "BUDGET_EXCEEDED"
    assert "250.00" in err.message
    v2 = (await worker.ReviseProposal(promote(50 * WAN, "超出名额的理由"))).proposal
    assert [(k, x.amount_fen) for k, x in by_app(v2).items() if x.amount_fen] == [
        ("a", 200 * WAN),
        ("b", 50 * WAN),
    ]
    assert v2.allocated_fen == 250 * WAN


# ------------------------------------------------------------------- publicity and announcement


async def test_publicity_notices_investigations_and_the_announcement(suite, intake):
    w = await make_world(suite)
    cycle = "cy-pub"
    await a_year(suite, w, intake, cycle)
    worker = suite.stub("review", await suite.worker_token())
    province = suite.stub("review", w.province)
    applicant = suite.stub("review", w.applicant)
    ends = datetime.now(UTC) + timedelta(days=7)

    def announce(version: int = 0, document_no: str = DOC_NO) -> pb.RecordAnnouncementRequest:
        return pb.RecordAnnouncementRequest(
            cycle_id=cycle, proposal_version=version, document_no=document_no, announced_by="usr_prov_ind"
        )

    # The first publicity: where the policy says, its period recorded; a retry opens nothing new.
    open_v1 = pb.OpenPublicityRequest(cycle_id=cycle, proposal_version=1, ends_at=stamp(ends))
    await worker.OpenPublicity(open_v1)
    await worker.OpenPublicity(open_v1)
    notices = (await applicant.ListPublicityNotices(pb.ListPublicityNoticesRequest(cycle_id=cycle))).notices
    assert len(notices) == 1
    n1 = notices[0]
    assert (n1.proposal_version, n1.published_where, n1.closed) == (1, "山东省工业和信息化厅门户网站", False)
    assert n1.HasField("starts_at")
    assert n1.ends_at.seconds == stamp(ends).seconds
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, worker.RecordAnnouncement(announce()))
    assert err.metadata["phase"] == "PUBLICITY"

    # An upheld objection to A: version 2, C moves up; publicity closes as changed → PROPOSAL.
    objection = (
        await applicant.FileObjection(
            pb.FileObjectionRequest(
                cycle_id=cycle,
                application_id=f"{cycle}-a",
                objector_name="张三",
                objector_contact="13800000000",
                content="数据造假",
            )
        )
    ).objection
    upheld = await province.RecordInvestigation(investigation(objection.objection_id, upheld=True))
    assert upheld.proposal.version == 2
    assert [k for k, x in by_app(upheld.proposal).items() if x.amount_fen] == ["b", "c"]
    closed = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    assert (closed.changed, closed.proposal.version) == (True, 2)
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, worker.RecordAnnouncement(announce()))
    assert err.metadata["phase"] == "PROPOSAL"

    # Its own publicity: only the latest version, at the place the workflow passes.
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, worker.OpenPublicity(open_v1))
    assert err.reason == "STALE_PROPOSAL_VERSION"
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(
            cycle_id=cycle, proposal_version=2, ends_at=stamp(ends), published_where="山东省人民政府门户网站"
        )
    )
    closed = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    assert (closed.changed, closed.proposal.version) == (False, 2)

    # Both notices, one a page, readable by every signed-in reader.
    first = await applicant.ListPublicityNotices(pb.ListPublicityNoticesRequest(cycle_id=cycle, page_size=1))
    assert first.next_page_token
    second = await applicant.ListPublicityNotices(
        pb.ListPublicityNoticesRequest(cycle_id=cycle, page_size=1, page_token=first.next_page_token)
    )
    assert not second.next_page_token
    (n1,), (n2,) = first.notices, second.notices
    assert (n1.proposal_version, n1.closed, n1.changed, n1.result_version, n1.objections) == (
        1,
        True,
        True,
        2,
        1,
    )
    assert (n2.proposal_version, n2.closed, n2.changed, n2.result_version, n2.objections) == (
        2,
        True,
        False,
        2,
        0,
    )
    assert n2.published_where == "山东省人民政府门户网站"
    assert n1.HasField("closed_at")

    # The investigation stays on the objection.
    listed = (await province.ListObjections(pb.ListObjectionsRequest(cycle_id=cycle))).objections
    assert [(o.investigator, o.reply_to_applicant) for o in listed] == [
        ("王调查（省工信厅数据处）", "已书面告知申报单位调查结论")
    ]

    # The announcement: only the final list, recorded once.
    err = await expect(grpc.StatusCode.FAILED_PRECONDITION, worker.RecordAnnouncement(announce(version=1)))
    assert err.reason == "NOT_THE_FINAL_LIST"
    await expect(
        grpc.StatusCode.NOT_FOUND, applicant.GetAnnouncement(pb.GetAnnouncementRequest(cycle_id=cycle))
    )
    a = (await worker.RecordAnnouncement(announce())).announcement
    assert (a.proposal_version, a.document_no, a.announced_by) == (2, DOC_NO, "usr_prov_ind")
    assert [(x.application_id, x.amount_fen, x.uscc) for x in a.lines] == [
        (f"{cycle}-b", 100 * WAN, uscc_of("B")),
        (f"{cycle}-c", 100 * WAN, uscc_of("C")),
    ]
    assert (await worker.RecordAnnouncement(announce(version=2))).announcement == a
    err = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        worker.RecordAnnouncement(announce(document_no="鲁工信数据〔2026〕99号")),
    )
    assert err.reason == "ALREADY_ANNOUNCED"
    assert DOC_NO in err.message_zh
    assert (await applicant.GetAnnouncement(pb.GetAnnouncementRequest(cycle_id=cycle))).announcement == a
    await expect(
        grpc.StatusCode.NOT_FOUND, applicant.GetAnnouncement(pb.GetAnnouncementRequest(cycle_id="nope"))
    )
    # Closing again answers how it closed; objections are over.
    again = await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    assert (again.changed, again.proposal.version) == (False, 2)
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        worker.RecordAnnouncement(pb.RecordAnnouncementRequest(cycle_id=cycle)),
    )
    assert {v.field for v in err.violations} == {"document_no", "announced_by"}
