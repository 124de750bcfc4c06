"""Intake's use cases with fakes of the identity registry and the cycle workflows, on the real store
(a migrated SQLite file): who may do what to which object, what is refused and what it leaves
behind, and how a workflow's refusal reaches the caller."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from aicc.cli.registry import migrate
from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.db import Database, unit_of_work
from aicc.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    wrong_phase,
)
from aicc.platform.pagination import PageRequest
from aicc.platform.policy import default_policy_dir, find_policy, load_policy_text
from services.intake.domain import (
    applications,
    cycles,
    decisions,
    outcomes,
    recommendations,
    timeline,
    workflow_records,
)
from services.intake.domain.model import (
    ApplicationDraft,
    ApplicationFilter,
    ApplicationStatus,
    BureauOpinion,
    ComplianceOutcome,
    CycleDecision,
    DecisionKind,
    Declaration,
    Disbursement,
    Eligibility,
    EligibilityFailure,
    Instance,
    MaterialInput,
    OutcomeStage,
    PaymentStatus,
    ProposalLine,
    RecommendationLine,
    Signoff,
)
from services.intake.gateway import CycleGateway
from services.intake.store import IntakeStore
from tests.support.fakes_intake import (
    FakeCycleWorkflows,
    FakeFundingRecords,
    FakeIdentityRegistry,
    FakeReviewRecords,
)
from workflows.cycle.models import (
    Actor,
    Attention,
    ComplianceDecisions,
    ComplianceItem,
    ComplianceResult,
    Conclusion,
    Counts,
    CycleStatus,
    Phase,
    ProposalChange,
    RecommendationItem,
)
from workflows.cycle.refusals import to_application_error
from workflows.cycle.workflow import CycleWorkflow

# A Monday inside the demo policy's validity (2026-01-01 to 2027-12-31); the demo's call opens 3 s
# after creation and closes 8 s later.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
IN_WINDOW = NOW + timedelta(seconds=5)
PROVINCE = Instance("province", "370000")
JINAN, QINGDAO = "370100", "370200"

INDUSTRY = Principal("u_ind", "ind", frozenset({authz.PROVINCE_INDUSTRY}), display_name="省工信")
FINANCE = Principal("u_fin", "fin", frozenset({authz.PROVINCE_FINANCE}), display_name="省财政")
JN_IND = Principal("u_jn", "jn", frozenset({authz.CITY_INDUSTRY}), city_code=JINAN, display_name="济南工信")
QD_FIN = Principal("u_qd", "qd", frozenset({authz.CITY_FINANCE}), city_code=QINGDAO, display_name="青岛财政")


def applicant(org: str) -> Principal:
    return Principal(f"u_{org}", f"user-{org}", frozenset({authz.APPLICANT}), organization_id=org)


@pytest.fixture
async def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    migrate("intake", url)
    db = Database(url)
    yield unit_of_work(db, IntakeStore)
    await db.dispose()


@pytest.fixture
def identity() -> FakeIdentityRegistry:
    reg = FakeIdentityRegistry()
    for org, city in (("org_j1", JINAN), ("org_j2", JINAN), ("org_j3", JINAN), ("org_q1", QINGDAO)):
        reg.operator_org(f"{org}_op", reg.enterprise(org, city))
    return reg


@pytest.fixture
def workflows() -> FakeCycleWorkflows:
    return FakeCycleWorkflows()


@pytest.fixture
def review() -> FakeReviewRecords:
    return FakeReviewRecords()


@pytest.fixture
def funding() -> FakeFundingRecords:
    return FakeFundingRecords()


def _status(
    cycle_id: str, phase: Phase, *, version: int = 0, deadline: str = "", attention=None
) -> CycleStatus:
    return CycleStatus(cycle_id, phase, Counts(), [], version, "", deadline=deadline, attention=attention)


def _line(
    app_id: str, wan: int, *, reserve: bool = False, rank: int = 1, tier: str = "excellent"
) -> ProposalLine:
    """A proposal line of ``wan`` 万元 (0: not funded)."""
    return ProposalLine(app_id, f"org-of-{app_id}", JINAN, tier, wan * 1_000_000, reserve, rank)


def _rec(app_id: str, recommended: bool, industry: str, finance: str = "") -> RecommendationLine:
    """A recorded line with city industry's opinion (and city finance's, when given)."""
    opinions = [BureauOpinion(authz.CITY_INDUSTRY, industry)]
    if finance:
        opinions.append(BureauOpinion(authz.CITY_FINANCE, finance))
    return RecommendationLine(app_id, recommended, industry, tuple(opinions))


async def _cycle(uow, workflows, cycle_id="c1", *, applying=True, instance=PROVINCE, now=NOW, policy=None):
    c = await cycles.create_cycle(
        uow=uow,
        workflows=workflows,
        principal=INDUSTRY,
        cycle_id=cycle_id,
        title="测试年度",
        policy=policy or find_policy("demo"),
        instance=instance,
        now=now,
    )
    if applying:
        await workflow_records.record_cycle_phase(
            uow=uow, cycle_id=cycle_id, phase=Phase.APPLYING, note="", proposal_version=0
        )
    return c


async def _draft(uow, identity, org, cycle_id="c1", *, materials=(), at=NOW):
    dossier = await applications.create_application(
        uow=uow,
        identity=identity,
        principal=applicant(org),
        draft=ApplicationDraft(cycle_id, org, f"{org}_op", "能力中心", ["compute"], list(materials)),
        now=at,
    )
    return dossier.application


async def _submit(uow, identity, org, application_id, at=IN_WINDOW):
    return await applications.submit_application(
        uow=uow,
        identity=identity,
        principal=applicant(org),
        application_id=application_id,
        declaration=Declaration("张三", "法定代表人", True),
        clock=lambda: at,
    )


# ---------------------------------------------------------------- cycles


async def test_a_cycle_is_recorded_published_and_its_workflow_started_once(uow, workflows):
    c = await _cycle(uow, workflows, applying=False)
    assert c.phase == Phase.PUBLISHED
    assert c.workflow_id == "cycle-c1"
    assert c.created_by == "u_ind"
    inp = workflows.started["c1"]
    assert inp.applications_open_at == (NOW + timedelta(seconds=3)).isoformat()
    assert inp.applications_close_at == (NOW + timedelta(seconds=11)).isoformat()
    view = await cycles.get_cycle(uow=uow, workflows=workflows, cycle_id="c1")
    assert view.cycle.phase == Phase.PUBLISHED
    assert view.cycle.legal_basis == c.legal_basis
    assert view.status is None
    with pytest.raises(AlreadyExists) as e:
        await _cycle(uow, workflows, applying=False)
    assert e.value.reason == "CYCLE_EXISTS"
    assert list(workflows.started) == ["c1"]


async def test_a_cycle_outside_the_policy_validity_is_refused_and_nothing_starts(uow, workflows):
    with pytest.raises(FailedPrecondition) as e:
        await _cycle(uow, workflows, "c-early", now=datetime(2025, 12, 30, 8, tzinfo=UTC))
    assert e.value.reason == "POLICY_NOT_IN_FORCE"
    assert "Art. 19" in e.value.message
    assert workflows.started == {}
    async with uow() as repo:
        assert await repo.cycle("c-early") is None


async def test_a_cycle_under_a_policy_of_another_scope_is_refused(uow, workflows):
    with pytest.raises(FailedPrecondition) as e:
        await _cycle(uow, workflows, "c-city", instance=Instance("city", QINGDAO))
    assert e.value.reason == "POLICY_SCOPE_MISMATCH"
    assert "Art. 18" in e.value.message
    assert workflows.started == {}


async def test_a_cycle_whose_workflow_cannot_start_is_not_recorded(uow, workflows):
    workflows.start_failure = Unavailable("temporal down", reason="TEMPORAL_UNAVAILABLE")
    with pytest.raises(Unavailable):
        await _cycle(uow, workflows, applying=False)
    async with uow() as repo:
        assert await repo.cycle("c1") is None


async def test_an_unknown_policy_name_lists_the_available_ones_and_a_bad_one_every_error():
    with pytest.raises(NotFound) as nf:
        cycles.read_policy(name="no-such-policy", yaml_text=None, policy_dir=None)
    assert nf.value.reason == "POLICY_NOT_FOUND"
    assert "demo" in nf.value.message
    with pytest.raises(InvalidArgument) as bad:
        cycles.read_policy(name=None, yaml_text="quota: -1\n", policy_dir=None)
    assert bad.value.reason == "POLICY_INVALID"
    assert all(v.field.startswith("policy_yaml") for v in bad.value.violations)
    assert len(bad.value.violations) > 1


async def test_cycles_are_listed_newest_first_a_page_at_a_time(uow, workflows):
    for i in range(5):
        await _cycle(uow, workflows, f"c{i}", applying=False)
    seen, after = [], None
    while True:
        page = await cycles.list_cycles(uow=uow, page=PageRequest(2, after))
        seen += [c.cycle_id for c in page.items]
        assert len(page.items) <= 2
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [f"c{i}" for i in reversed(range(5))]


# ---------------------------------------------------------------- applications


async def test_an_applicant_cannot_apply_for_another_organisation(uow, identity, workflows):
    await _cycle(uow, workflows)
    with pytest.raises(PermissionDenied):
        await applications.create_application(
            uow=uow,
            identity=identity,
            principal=applicant("org_j2"),
            draft=ApplicationDraft("c1", "org_j1", "org_j1_op", "冒名申报", ["compute"], []),
            now=NOW,
        )
    assert identity.looked_up == []  # refused before asking the registry
    async with uow() as repo:
        assert await repo.application_of("c1", "org_j1") is None


@pytest.mark.parametrize("operator", ["org_j2_op", "org_j2", "org_unknown"])
async def test_an_operating_organisation_not_the_applicants_is_refused(uow, identity, workflows, operator):
    await _cycle(uow, workflows)
    with pytest.raises(InvalidArgument) as e:
        await applications.create_application(
            uow=uow,
            identity=identity,
            principal=applicant("org_j1"),
            draft=ApplicationDraft("c1", "org_j1", operator, "能力中心", ["compute"], []),
            now=NOW,
        )
    assert e.value.reason == "OPERATOR_ORG_INVALID"
    assert [v.field for v in e.value.violations] == ["operator_organization_id"]
    async with uow() as repo:
        assert await repo.application_of("c1", "org_j1") is None


async def test_a_draft_takes_name_and_city_from_the_registry_once_per_cycle(uow, identity, workflows):
    await _cycle(uow, workflows)
    mat = MaterialInput("application_form", "form.pdf", "a" * 64, 1024)
    app = await _draft(uow, identity, "org_j1", materials=[mat])
    assert app.status == ApplicationStatus.DRAFT
    assert app.city_code == JINAN
    assert app.enterprise_name == "企业 org_j1"
    assert app.operator_organization_id == "org_j1_op"
    got = await applications.get_application(
        uow=uow, principal=applicant("org_j1"), application_id=app.application_id
    )
    assert got.application == app
    assert [(m.filename, m.size_bytes) for m in got.materials] == [("form.pdf", 1024)]
    with pytest.raises(AlreadyExists) as e:
        await _draft(uow, identity, "org_j1")
    assert e.value.reason == "APPLICATION_EXISTS"


async def test_a_draft_is_refused_once_the_window_has_closed(uow, identity, workflows):
    await _cycle(uow, workflows)
    await workflow_records.record_cycle_phase(
        uow=uow, cycle_id="c1", phase=Phase.CITY_REVIEW, note="", proposal_version=0
    )
    with pytest.raises(FailedPrecondition) as e:
        await _draft(uow, identity, "org_j1")
    assert e.value.reason == "WRONG_PHASE"
    assert e.value.metadata["phase"] == "CITY_REVIEW"


async def test_another_organisations_or_citys_application_is_not_found(uow, identity, workflows):
    await _cycle(uow, workflows)
    app = await _draft(uow, identity, "org_j1")
    for who in (applicant("org_j2"), QD_FIN):
        with pytest.raises(NotFound):
            await applications.get_application(uow=uow, principal=who, application_id=app.application_id)
    for who in (applicant("org_j1"), JN_IND, INDUSTRY):
        await applications.get_application(uow=uow, principal=who, application_id=app.application_id)


async def test_a_submission_outside_the_window_is_refused_without_screening(uow, identity, workflows):
    await _cycle(uow, workflows)
    app = await _draft(uow, identity, "org_j1")
    with pytest.raises(FailedPrecondition) as e:
        await _submit(uow, identity, "org_j1", app.application_id, at=NOW + timedelta(seconds=12))
    assert e.value.reason == "OUTSIDE_WINDOW"
    assert e.value.metadata == {"phase": "APPLYING"}
    assert identity.checked == []
    async with uow() as repo:
        stored = await repo.application(app.application_id)
    assert stored is not None
    assert stored.status == ApplicationStatus.DRAFT
    assert stored.submitted_at is None


async def test_a_submission_needs_the_signed_declaration(uow, identity, workflows):
    await _cycle(uow, workflows)
    app = await _draft(uow, identity, "org_j1")
    with pytest.raises(InvalidArgument) as e:
        await applications.submit_application(
            uow=uow,
            identity=identity,
            principal=applicant("org_j1"),
            application_id=app.application_id,
            declaration=Declaration(" ", "", False),
            clock=lambda: IN_WINDOW,
        )
    assert {v.field for v in e.value.violations} == {"declaration.signer_name", "declaration.accepted"}


async def test_only_the_own_organisation_submits(uow, identity, workflows):
    await _cycle(uow, workflows)
    app = await _draft(uow, identity, "org_j1")
    for who in (applicant("org_j2"), JN_IND):
        with pytest.raises(NotFound):
            await applications.submit_application(
                uow=uow,
                identity=identity,
                principal=who,
                application_id=app.application_id,
                declaration=Declaration("张三", "", True),
                clock=lambda: IN_WINDOW,
            )
    assert identity.checked == []


async def test_a_submission_is_screened_and_an_ineligible_one_keeps_its_failures(uow, identity, workflows):
    await _cycle(uow, workflows)
    failure = EligibilityFailure(
        "serious_dishonesty_3y", "Art. 5(1)", "serious dishonesty in 2025", "严重失信"
    )
    identity.screen["org_j1"] = Eligibility(False, [failure])
    bad = await _draft(uow, identity, "org_j1")
    good = await _draft(uow, identity, "org_j2")
    done = await _submit(uow, identity, "org_j1", bad.application_id)
    assert done.application.status == ApplicationStatus.INELIGIBLE
    assert done.application.eligibility_failures == [failure]
    # Screened on the Beijing date of the submission.
    assert identity.checked == [("org_j1", date(2026, 3, 2))]
    stored = await applications.get_application(
        uow=uow, principal=INDUSTRY, application_id=bad.application_id
    )
    a = stored.application
    assert a.status == ApplicationStatus.INELIGIBLE
    assert a.eligibility_failures == [failure]
    assert a.submitted_at == IN_WINDOW
    assert a.declaration == Declaration("张三", "法定代表人", True, IN_WINDOW)
    ok = await _submit(uow, identity, "org_j2", good.application_id)
    assert ok.application.status == ApplicationStatus.SUBMITTED
    assert ok.application.eligibility_failures == []
    with pytest.raises(FailedPrecondition) as again:
        await _submit(uow, identity, "org_j2", good.application_id)
    assert again.value.reason == "ALREADY_SUBMITTED"
    # The window's close counts the submitted, eligible applications only, by city (the list stays here).
    assert await workflow_records.close_application_window(uow=uow, cycle_id="c1") == {JINAN: 1}
    async with uow() as repo:
        handed = await repo.applications(ApplicationFilter(cycle_id="c1", status=ApplicationStatus.SUBMITTED))
    assert [a.application_id for a in handed] == [good.application_id]


async def test_listings_show_the_callers_own_organisation_or_city_only(uow, identity, workflows):
    await _cycle(uow, workflows)
    # Drafted one after the other; the last two at the same instant (then ordered by id).
    ids = {}
    for org, at in (
        ("org_j1", NOW),
        ("org_q1", NOW + timedelta(seconds=1)),
        ("org_j2", NOW + timedelta(seconds=1)),
    ):
        ids[org] = (await _draft(uow, identity, org, at=at)).application_id
    in_order = [ids["org_j1"], *sorted([ids["org_q1"], ids["org_j2"]])]

    async def listed(who, **where):
        page = await applications.list_applications(
            uow=uow, principal=who, where=ApplicationFilter(cycle_id="c1", **where), page=PageRequest(50)
        )
        return [d.application.application_id for d in page.items]

    assert await listed(applicant("org_j1")) == [ids["org_j1"]]
    assert await listed(applicant("org_j1"), city_code=QINGDAO) == []
    assert await listed(JN_IND) == [ids["org_j1"], ids["org_j2"]]
    assert await listed(QD_FIN, city_code=JINAN) == [ids["org_q1"]]  # a city asks for another: its own
    assert await listed(INDUSTRY) == in_order
    assert await listed(INDUSTRY, city_code=JINAN, status=ApplicationStatus.DRAFT) == [
        ids["org_j1"],
        ids["org_j2"],
    ]
    assert await listed(INDUSTRY, status=ApplicationStatus.SUBMITTED) == []
    first = await applications.list_applications(
        uow=uow, principal=INDUSTRY, where=ApplicationFilter(cycle_id="c1"), page=PageRequest(2)
    )
    rest = await applications.list_applications(
        uow=uow,
        principal=INDUSTRY,
        where=ApplicationFilter(cycle_id="c1"),
        page=PageRequest(2, first.next_cursor),
    )
    assert [d.application.application_id for d in first.items + rest.items] == in_order
    assert rest.next_cursor is None


# ---------------------------------------------------------------- decisions and recommendations


async def test_a_city_official_cannot_sign_for_another_city(uow, workflows):
    await _cycle(uow, workflows)
    with pytest.raises(PermissionDenied):
        await recommendations.sign_city_recommendation(
            uow=uow,
            workflows=workflows,
            principal=QD_FIN,
            cycle_id="c1",
            city_code=JINAN,
            document_no="伪造〔2026〕1号",
            items=[RecommendationItem("app_x", True, "同意")],
        )
    assert workflows.decisions == []


async def test_a_signoff_reaches_the_workflow_in_the_signers_role(uow, identity, workflows):
    await _cycle(uow, workflows)
    j1 = await _draft(uow, identity, "org_j1")
    await _submit(uow, identity, "org_j1", j1.application_id)
    r = await recommendations.sign_city_recommendation(
        uow=uow,
        workflows=workflows,
        principal=JN_IND,
        cycle_id="c1",
        city_code=JINAN,
        document_no="济工信联字〔2026〕1号",
        items=[RecommendationItem(j1.application_id, True, "同意")],
    )
    assert r.signed_roles == [authz.CITY_INDUSTRY]
    assert not r.complete
    (cycle_id, update, signoff), *_ = workflows.decisions
    assert (cycle_id, update) == ("c1", "sign_city_recommendation")
    assert signoff.actor.user_id == "u_jn"
    assert signoff.actor.display_name == "济南工信"


async def test_a_decision_on_an_unknown_cycle_is_not_found_and_never_sent(uow, workflows):
    with pytest.raises(NotFound):
        await decisions.conclude_expert_review(
            uow=uow, workflows=workflows, principal=INDUSTRY, cycle_id="nope"
        )
    assert workflows.decisions == []


async def test_a_workflow_refusal_passes_through_as_the_same_domain_error(uow, workflows, review, funding):
    await _cycle(uow, workflows)
    workflows.statuses["c1"] = _status("c1", Phase.FINANCE_CONCURRENCE, version=1)
    review.propose("c1", 1, _line("app_a", 200))
    refusal = wrong_phase("DecideFinanceConcurrence", "PUBLISHED", "FINANCE_CONCURRENCE", "财政厅同意")
    workflows.refusal = refusal
    with pytest.raises(FailedPrecondition) as e:
        await decisions.decide_finance_concurrence(
            uow=uow,
            workflows=workflows,
            review=review,
            funding=funding,
            principal=FINANCE,
            cycle_id="c1",
            proposal_version=1,
            agree=True,
            opinion="同意",
        )
    assert e.value is refusal
    assert e.value.metadata["phase"] == "PUBLISHED"
    assert workflows.decisions == []
    view = await decisions.decide_finance_concurrence(
        uow=uow,
        workflows=workflows,
        review=review,
        funding=funding,
        principal=FINANCE,
        cycle_id="c1",
        proposal_version=1,
        agree=True,
        opinion="",
    )
    (_, update, decision), *_ = workflows.decisions
    assert update == "decide_finance_concurrence"
    assert decision.actor.role == authz.PROVINCE_FINANCE
    assert view.cycle.cycle_id == "c1"


async def test_a_recommendation_is_recorded_once_and_marks_the_citys_applications(uow, identity, workflows):
    await _cycle(uow, workflows)
    j1 = await _draft(uow, identity, "org_j1")
    j2 = await _draft(uow, identity, "org_j2")
    q1 = await _draft(uow, identity, "org_q1")
    signoffs = [
        Signoff(authz.CITY_INDUSTRY, "u_jn", "济南工信", "2026-03-02T02:00:00Z"),
        Signoff(authz.CITY_FINANCE, "u_jnf", "济南财政", "2026-03-02T02:01:00Z"),
    ]

    for org, app in (("org_j1", j1), ("org_j2", j2), ("org_q1", q1)):
        await _submit(uow, identity, org, app.application_id)

    async def record(*items):
        return await recommendations.record_recommendation(
            uow=uow,
            cycle_id="c1",
            city_code=JINAN,
            document_no="济工信联字〔2026〕1号",
            items=list(items),
            signoffs=signoffs,
            now=NOW + timedelta(minutes=5),
        )

    # An application of another city in Jinan's document: refused, nothing recorded.
    with pytest.raises(NotFound) as e:
        await record(_rec(j1.application_id, True, "同意"), _rec(q1.application_id, True, "x"))
    assert e.value.reason == "APPLICATION_NOT_IN_CITY"
    async with uow() as repo:
        assert await repo.recommendation("c1", JINAN) is None
        untouched = await repo.application(j1.application_id)
    assert untouched is not None
    assert untouched.status == ApplicationStatus.SUBMITTED
    items = [
        _rec(j1.application_id, True, "同意", "资金可保障"),
        _rec(j2.application_id, False, "不足", "同意不推荐"),
    ]
    rec = await record(*items)
    assert rec.recommended == 1
    await record(*items)  # a retried activity
    async with uow() as repo:
        stored = await repo.recommendation("c1", JINAN)
        first = await repo.application(j1.application_id)
        again = await repo.application(j2.application_id)
    assert stored is not None
    assert stored.items == items
    assert stored.signoffs == signoffs
    assert first is not None
    assert again is not None
    assert (first.status, again.status) == (ApplicationStatus.RECOMMENDED, ApplicationStatus.NOT_RECOMMENDED)
    assert again.recommendation_opinion == "不足"
    # One step each in the history, with both bureaus' opinions, however often it is recorded.
    assert [s.status for s in again.timeline] == [
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.NOT_RECOMMENDED,
    ]
    assert (
        again.timeline[-1].note
        == "未获市级推荐（文号 济工信联字〔2026〕1号）。市工信局意见：不足；市财政局意见：同意不推荐"
    )


# ---------------------------------------------------------------- the Temporal adapter


class _Handle:
    """A workflow handle whose updates fail as Temporal reports them."""

    def __init__(self, failure: BaseException) -> None:
        self.failure = failure
        self.updates: list[object] = []

    async def execute_update(self, update, arg, *, id=None):  # noqa: A002 - Temporal's own name
        self.updates.append(update)
        raise self.failure


class _Client:
    def __init__(self, handle: _Handle) -> None:
        self.handle = handle
        self.workflow_ids: list[str] = []

    def get_workflow_handle_for(self, run, workflow_id):
        self.workflow_ids.append(workflow_id)
        return self.handle


def _gateway(failure: BaseException) -> tuple[CycleGateway, _Client]:
    client = _Client(_Handle(failure))
    return CycleGateway(client, "q"), client  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "refusal",
    [
        wrong_phase("DecideCompliance", "PUBLISHED", "COMPLIANCE_REVIEW", "合规性审核"),
        InvalidArgument(
            "stale",
            "版本过期",
            reason="STALE_VERSION",
            violations=[FieldViolation("proposal_version", "old", "旧")],
        ),
        PermissionDenied("only city bureaus", "仅市局", reason="PERMISSION_DENIED"),
    ],
)
async def test_the_workflows_refusal_becomes_the_same_domain_error_in_the_gateway(refusal):
    gateway, client = _gateway(WorkflowUpdateFailedError(to_application_error(refusal)))
    decisions_ = ComplianceDecisions(Actor("u", "省工信", authz.PROVINCE_INDUSTRY), [])
    with pytest.raises(type(refusal)) as e:
        await gateway.decide_compliance("c1", decisions_)
    got = e.value
    assert (got.code, got.message, got.message_zh, got.reason) == (
        refusal.code,
        refusal.message,
        refusal.message_zh,
        refusal.reason,
    )
    if isinstance(refusal, InvalidArgument):
        assert isinstance(got, InvalidArgument)
        assert got.violations == refusal.violations
        # (the encoding also carries the first violation's field as metadata)
        assert {k: v for k, v in got.metadata.items() if k != "field"} == refusal.metadata
    else:
        assert got.metadata == refusal.metadata
    # The update is named by reference to the workflow's method.
    assert client.handle.updates == [CycleWorkflow.decide_compliance]
    assert client.workflow_ids == ["cycle-c1"]


async def test_a_decision_for_a_workflow_that_is_not_running_is_a_failed_precondition():
    gateway, _ = _gateway(RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b""))
    with pytest.raises(FailedPrecondition) as e:
        await gateway.conclude_supervision("c1", Conclusion(Actor("u", "x", authz.PROVINCE_INDUSTRY)))
    assert e.value.reason == "CYCLE_NOT_RUNNING"
    gateway, _ = _gateway(RPCError("unreachable", RPCStatusCode.UNAVAILABLE, b""))
    with pytest.raises(Unavailable) as u:
        await gateway.conclude_supervision("c1", Conclusion(Actor("u", "x", authz.PROVINCE_INDUSTRY)))
    assert u.value.reason == "TEMPORAL_UNAVAILABLE"


# ---------------------------------------------------------------- the policy snapshot (Art. 19, Art. 18)


def _policy_text(name: str = "demo", **changes: object) -> str:
    data = yaml.safe_load((default_policy_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = data
        for p in parents:
            node = node[p]
        node[key] = value
    return yaml.safe_dump(data, allow_unicode=True)


async def _cycle_from(uow, workflows, cycle_id, text, *, instance=PROVINCE, applying=True):
    policy = load_policy_text(text, source="test")
    return await _cycle(uow, workflows, cycle_id, applying=applying, instance=instance, policy=policy)


async def test_a_cycle_keeps_its_policys_version_and_hash_and_reads_the_snapshot_back(uow, workflows):
    first = await _cycle(uow, workflows, "c1", applying=False)
    same = await _cycle(uow, workflows, "c2", applying=False)
    changed = await _cycle_from(uow, workflows, "c3", _policy_text(quota=14), applying=False)
    snap = await cycles.get_cycle_policy(uow=uow, cycle_id="c1")
    assert (first.policy_version, same.policy_version, changed.policy_version) == (
        "demo/v1",
        "demo/v1",
        "demo/v2",
    )
    assert first.policy_sha256 == same.policy_sha256 != changed.policy_sha256
    assert (
        snap.policy_sha256
        == hashlib.sha256(snap.policy_json.encode("utf-8")).hexdigest()
        == first.policy_sha256
    )
    # Canonical: the keys sorted, the content the policy's own.
    data = json.loads(snap.policy_json)
    assert snap.policy_json == json.dumps(data, sort_keys=True, ensure_ascii=False)
    assert data["eligibility"]["earlier_award"] == "refuse"
    assert (await _cycle(uow, workflows, "c4", applying=False)).policy_version == "demo/v1"
    with pytest.raises(NotFound):
        await cycles.get_cycle_policy(uow=uow, cycle_id="nope")


async def test_the_workflow_input_carries_the_fiscal_year_tier_caps_and_where_notices_go(uow, workflows):
    await _cycle(uow, workflows, applying=False)
    inp = workflows.started["c1"]
    assert inp.fiscal_year == 2026
    assert [(c.tier, c.cap_fen) for c in inp.tier_caps] == [
        ("excellent", 200_000_000),
        ("advanced", 100_000_000),
    ]
    assert inp.published_where == "山东省工业和信息化厅门户网站"


async def _cycle_for_year(uow, workflows, cycle_id, fiscal_year, *, policy=None, now=NOW):
    return await cycles.create_cycle(
        uow=uow,
        workflows=workflows,
        principal=INDUSTRY,
        cycle_id=cycle_id,
        title="下一年度",
        policy=policy or find_policy("demo"),
        instance=PROVINCE,
        now=now,
        fiscal_year=fiscal_year,
    )


async def test_a_cycle_is_funded_by_the_opening_year_or_the_next_inside_the_policys_validity(uow, workflows):
    # December 2026: the province prepares the 2027 call; its window opens in 2026 (Beijing).
    december = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    derived = await _cycle_for_year(uow, workflows, "c-derived", 0, now=december)
    assert (derived.fiscal_year, workflows.started["c-derived"].fiscal_year) == (2026, 2026)
    nxt = await _cycle_for_year(uow, workflows, "c-next", 2027, now=december)
    assert (nxt.fiscal_year, workflows.started["c-next"].fiscal_year) == (2027, 2027)
    async with uow() as repo:
        assert (await repo.cycle("c-next")).fiscal_year == 2027
    for wrong in (2025, 2028):
        with pytest.raises(InvalidArgument) as e:
            await _cycle_for_year(uow, workflows, f"c-{wrong}", wrong, now=december)
        assert e.value.reason == "FISCAL_YEAR_OUT_OF_RANGE"
        assert [(v.field, v.description_zh) for v in e.value.violations] == [
            ("fiscal_year", "须为 0（申报开始年度）、2026 或 2027")
        ]
        assert f"预算年度 {wrong}" in e.value.message_zh
    # The next year, but the policy lapses at the end of this one (Art. 19).
    lapsing = load_policy_text(_policy_text(valid_until="2026-12-31"), source="test")
    with pytest.raises(InvalidArgument) as e:
        await _cycle_for_year(uow, workflows, "c-lapsing", 2027, policy=lapsing, now=december)
    assert e.value.reason == "FISCAL_YEAR_OUTSIDE_POLICY_VALIDITY"
    assert [v.field for v in e.value.violations] == ["fiscal_year"]
    assert "Art. 19" in e.value.message
    assert "第十九条" in e.value.message_zh
    assert e.value.metadata == {"valid_from": "2026-01-01", "valid_until": "2026-12-31"}
    assert set(workflows.started) == {"c-derived", "c-next"}
    async with uow() as repo:
        assert [await repo.cycle(c) for c in ("c-2025", "c-2028", "c-lapsing")] == [None, None, None]
    # A cycle recorded before the fiscal year was kept reads as the year its window opened.
    assert replace(derived, fiscal_year=0).funded_year == 2026


async def test_a_window_closing_after_the_policy_lapses_is_refused_art_19(uow, workflows):
    # In force today (2026-03-02), lapsing in 10 days: a 30-day window would outlive it.
    text = _policy_text(valid_until="2026-03-12", schedule__application_window="P30D")
    with pytest.raises(FailedPrecondition) as e:
        await _cycle_from(uow, workflows, "c-late", text)
    assert e.value.reason == "WINDOW_AFTER_POLICY_VALIDITY"
    assert "Art. 19" in e.value.message
    assert "第十九条" in e.value.message_zh
    assert e.value.metadata == {"valid_until": "2026-03-12", "applications_close_on": "2026-04-01"}
    assert workflows.started == {}
    async with uow() as repo:
        assert await repo.cycle("c-late") is None
    # A window closing on the last day of validity is fine.
    await _cycle_from(
        uow, workflows, "c-ok", _policy_text(valid_until="2026-04-01", schedule__application_window="P30D")
    )


# ---------------------------------------------------------------- submission: the policy's rules, Art. 11


async def test_submission_is_screened_under_the_cycle_policys_own_rules(uow, identity, workflows):
    # Registered in Qingdao's district 370212 (Jinan city), dishonest in 2024: the province's policy
    # (3 years, all of Shandong) refuses it for the dishonesty; Jinan's city policy (1 year, Jinan only,
    # Art. 18) for the territory. Another Jinan enterprise passes Jinan's rules and fails the province's.
    identity.operator_org("org_t_op", identity.enterprise("org_t", JINAN, division="370212"))
    identity.operator_org(
        "org_d_op", identity.enterprise("org_d", JINAN, division="370102", dishonest_in=2024)
    )
    await _cycle(uow, workflows, "prov")
    city_text = _policy_text(
        "city-jinan-2026",
        eligibility__serious_dishonesty_lookback_years=1,
        eligibility__division_prefix="3701",
    )
    await _cycle_from(uow, workflows, "jinan", city_text, instance=Instance("city", JINAN))
    results = {}
    for cycle_id in ("prov", "jinan"):
        for org in ("org_t", "org_d"):
            app = await _draft(uow, identity, org, cycle_id)
            done = await _submit(uow, identity, org, app.application_id)
            results[cycle_id, org] = (
                done.application.status,
                [f.rule for f in done.application.eligibility_failures],
            )
    assert results == {
        ("prov", "org_t"): (ApplicationStatus.SUBMITTED, []),
        ("prov", "org_d"): (ApplicationStatus.INELIGIBLE, ["serious_dishonesty"]),
        ("jinan", "org_t"): (ApplicationStatus.INELIGIBLE, ["territory"]),
        ("jinan", "org_d"): (ApplicationStatus.SUBMITTED, []),
    }
    city_rules = identity.rules_seen[-1]
    assert city_rules is not None
    assert (city_rules.serious_dishonesty_lookback_years, city_rules.division_prefix) == (1, "3701")
    assert identity.rules_seen[0] is not None
    assert identity.rules_seen[0].division_prefix == "37"


async def _force(uow, application_id: str, status: ApplicationStatus, note: str = "") -> None:
    async with uow() as repo:
        app = await repo.application(application_id, for_update=True)
        await timeline.move(repo, app, status, at=NOW, note=note or str(status))


@pytest.mark.parametrize(
    ("mode", "status", "flag_only"),
    [("refuse", ApplicationStatus.INELIGIBLE, False), ("flag", ApplicationStatus.SUBMITTED, True)],
)
async def test_an_enterprise_awarded_in_an_earlier_cycle_is_refused_or_flagged_art_11(
    uow, identity, workflows, mode, status, flag_only
):
    await _cycle(uow, workflows, "y2026")
    earlier = await _draft(uow, identity, "org_j1", "y2026")
    await _force(uow, earlier.application_id, ApplicationStatus.AWARDED)
    other = await _draft(uow, identity, "org_j2", "y2026")
    await _force(uow, other.application_id, ApplicationStatus.NOT_FUNDED)  # scored, never awarded
    await _cycle_from(uow, workflows, "y2027", _policy_text(eligibility__earlier_award=mode))
    again = await _draft(uow, identity, "org_j1", "y2027")
    done = (await _submit(uow, identity, "org_j1", again.application_id)).application
    assert done.status == status
    (finding,) = done.eligibility_failures
    assert (finding.rule, finding.article, finding.flag_only) == ("earlier_award", "Art. 11", flag_only)
    assert "y2026" in finding.message
    assert "第十一条" in finding.message_zh
    assert "第十一条" in done.timeline[-1].note
    # Never awarded before: nothing found.
    fresh = await _draft(uow, identity, "org_j2", "y2027")
    ok = (await _submit(uow, identity, "org_j2", fresh.application_id)).application
    assert (ok.status, ok.eligibility_failures) == (ApplicationStatus.SUBMITTED, [])


async def test_an_application_keeps_its_uscc_and_every_status_change(uow, identity, workflows):
    await _cycle(uow, workflows)
    draft = await _draft(uow, identity, "org_j1")
    assert draft.uscc == identity.organizations["org_j1"].uscc
    assert len(draft.uscc) == 18
    done = (await _submit(uow, identity, "org_j1", draft.application_id)).application
    got = (
        await applications.get_application(
            uow=uow, principal=applicant("org_j1"), application_id=draft.application_id
        )
    ).application
    assert got.uscc == draft.uscc
    assert [(s.seq, s.status, s.at, s.note) for s in got.timeline] == [
        (1, ApplicationStatus.DRAFT, NOW, "创建申报（草稿）"),
        (2, ApplicationStatus.SUBMITTED, IN_WINDOW, "提交申报，资格审查通过"),
    ]
    assert got.timeline == done.timeline


# ---------------------------------------------------------------- city sign-off, compliance: intake's own records


async def _submitted(uow, identity, workflows, *orgs: str, cycle_id: str = "c1") -> dict[str, str]:
    """A cycle in APPLYING with each org's application submitted: {org: application_id}."""
    await _cycle(uow, workflows, cycle_id)
    ids = {}
    for org in orgs:
        app = await _draft(uow, identity, org, cycle_id)
        await _submit(uow, identity, org, app.application_id)
        ids[org] = app.application_id
    return ids


async def _sign(uow, workflows, who, items, city=JINAN, cycle_id="c1"):
    return await recommendations.sign_city_recommendation(
        uow=uow,
        workflows=workflows,
        principal=who,
        cycle_id=cycle_id,
        city_code=city,
        document_no="济工信联字〔2026〕1号",
        items=items,
    )


async def test_a_signoff_must_give_an_opinion_on_each_submitted_application_of_the_city_once(
    uow, identity, workflows
):
    ids = await _submitted(uow, identity, workflows, "org_j1", "org_j2", "org_q1")
    with pytest.raises(InvalidArgument) as missing:
        await _sign(uow, workflows, JN_IND, [RecommendationItem(ids["org_j1"], True, "同意")])
    assert [v.field for v in missing.value.violations] == ["items"]
    assert ids["org_j2"] in missing.value.violations[0].description
    with pytest.raises(InvalidArgument) as foreign:
        await _sign(
            uow,
            workflows,
            JN_IND,
            [RecommendationItem(ids[o], True, "同意") for o in ("org_j1", "org_q1", "org_j2")],
        )
    assert [v.field for v in foreign.value.violations] == ["items[1].application_id"]
    assert workflows.decisions == []
    await _sign(
        uow, workflows, JN_IND, [RecommendationItem(ids[o], True, "同意") for o in ("org_j2", "org_j1")]
    )
    assert len(workflows.updates("sign_city_recommendation")) == 1
    # Once recorded, the city has recommended: a further sign-off is refused here.
    await recommendations.record_recommendation(
        uow=uow,
        cycle_id="c1",
        city_code=JINAN,
        document_no="济工信联字〔2026〕1号",
        items=[_rec(ids["org_j1"], True, "同意", "同意"), _rec(ids["org_j2"], True, "同意", "同意")],
        signoffs=[],
        now=NOW,
    )
    with pytest.raises(FailedPrecondition) as done:
        await _sign(uow, workflows, JN_IND, [RecommendationItem(ids["org_j1"], True, "同意")])
    assert done.value.reason == "CITY_ALREADY_RECOMMENDED"
    await _cycle(uow, workflows, "c-empty")
    with pytest.raises(FailedPrecondition) as empty:
        await _sign(
            uow, workflows, JN_IND, [RecommendationItem(ids["org_j1"], True, "同意")], cycle_id="c-empty"
        )
    assert empty.value.reason == "NO_SUBMITTED_APPLICATIONS"
    assert len(workflows.updates("sign_city_recommendation")) == 1


async def test_recommendations_are_listed_with_both_opinions_a_city_sees_its_own(uow, identity, workflows):
    ids = await _submitted(uow, identity, workflows, "org_j1", "org_q1")
    for city, org in ((JINAN, "org_j1"), (QINGDAO, "org_q1")):
        await recommendations.record_recommendation(
            uow=uow,
            cycle_id="c1",
            city_code=city,
            document_no=f"{city}〔2026〕1号",
            items=[_rec(ids[org], True, "工信同意", "财政同意")],
            signoffs=[Signoff(authz.CITY_INDUSTRY, "u1", "甲", "2026-03-02T02:00:00+00:00")],
            now=NOW,
        )

    async def listed(who, city=None, size=50):
        return await recommendations.list_recommendations(
            uow=uow, principal=who, cycle_id="c1", city_code=city, page=PageRequest(size)
        )

    everything = await listed(INDUSTRY)
    assert [r.city_code for r in everything.items] == [JINAN, QINGDAO]
    assert everything.items[0].items[0].opinions == (
        BureauOpinion(authz.CITY_INDUSTRY, "工信同意"),
        BureauOpinion(authz.CITY_FINANCE, "财政同意"),
    )
    first = await listed(INDUSTRY, size=1)
    assert [r.city_code for r in first.items] == [JINAN]
    rest = await recommendations.list_recommendations(
        uow=uow, principal=INDUSTRY, cycle_id="c1", city_code=None, page=PageRequest(1, first.next_cursor)
    )
    assert [r.city_code for r in rest.items] == [QINGDAO]
    assert [r.city_code for r in (await listed(INDUSTRY, QINGDAO)).items] == [QINGDAO]
    assert [r.city_code for r in (await listed(QD_FIN, JINAN)).items] == [QINGDAO]  # its own, whatever asked
    assert [r.city_code for r in (await listed(JN_IND)).items] == [JINAN]
    with pytest.raises(NotFound):
        await recommendations.list_recommendations(
            uow=uow, principal=INDUSTRY, cycle_id="nope", city_code=None, page=PageRequest(5)
        )


async def test_compliance_is_decided_only_on_applications_recommended_in_this_cycle(uow, identity, workflows):
    ids = await _submitted(uow, identity, workflows, "org_j1", "org_j2")
    await recommendations.record_recommendation(
        uow=uow,
        cycle_id="c1",
        city_code=JINAN,
        document_no="济〔2026〕1号",
        items=[_rec(ids["org_j1"], True, "同意"), _rec(ids["org_j2"], False, "不同意")],
        signoffs=[],
        now=NOW,
    )

    async def decide(*items):
        return await decisions.decide_compliance(
            uow=uow, workflows=workflows, principal=INDUSTRY, cycle_id="c1", decisions=list(items)
        )

    with pytest.raises(NotFound) as unknown:
        await decide(ComplianceItem(ids["org_j1"], True, []), ComplianceItem("app_nope", True, []))
    assert unknown.value.reason == "APPLICATION_NOT_FOUND"
    assert "app_nope" in unknown.value.message
    with pytest.raises(FailedPrecondition) as not_recommended:
        await decide(ComplianceItem(ids["org_j2"], False, ["材料不全"]))
    assert not_recommended.value.reason == "NOT_RECOMMENDED"
    assert ids["org_j2"] in not_recommended.value.message
    assert workflows.decisions == []
    r = await decide(ComplianceItem(ids["org_j1"], True, []))
    assert r.decided == 1
    (sent,) = workflows.updates("decide_compliance")
    assert [d.application_id for d in sent.decisions] == [ids["org_j1"]]


# ---------------------------------------------------------------- finance concurrence (Art. 3-4, 10)


async def _concur(uow, workflows, review, funding, *, version=2, agree=True, opinion="同意"):
    return await decisions.decide_finance_concurrence(
        uow=uow,
        workflows=workflows,
        review=review,
        funding=funding,
        principal=FINANCE,
        cycle_id="c1",
        proposal_version=version,
        agree=agree,
        opinion=opinion,
    )


async def test_finance_concurrence_is_recorded_in_funding_with_the_funded_lines_then_decided(
    uow, workflows, review, funding
):
    await _cycle(uow, workflows)
    workflows.statuses["c1"] = _status("c1", Phase.FINANCE_CONCURRENCE, version=2)
    funded = _line("app_a", 200)
    review.propose("c1", 1, _line("app_old", 100))
    review.propose("c1", 2, funded, _line("app_b", 0, reserve=True, rank=2), _line("app_c", 0, rank=3))
    await _concur(uow, workflows, review, funding)
    assert review.reads == [("proposal", "c1", 2)]
    assert funding.recorded == [("c1", 2, True, "同意", [funded])]
    (decision,) = workflows.updates("decide_finance_concurrence")
    assert (decision.proposal_version, decision.approve, decision.actor.role) == (
        2,
        True,
        authz.PROVINCE_FINANCE,
    )


async def test_a_return_is_recorded_without_lines(uow, workflows, review, funding):
    await _cycle(uow, workflows)
    workflows.statuses["c1"] = _status("c1", Phase.FINANCE_CONCURRENCE, version=2)
    review.propose("c1", 2, _line("app_a", 200))
    await _concur(uow, workflows, review, funding, agree=False, opinion="超出预算")
    assert funding.recorded == [("c1", 2, False, "超出预算", [])]
    (decision,) = workflows.updates("decide_finance_concurrence")
    assert (decision.approve, decision.opinion) == (False, "超出预算")


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (_status("c1", Phase.PROPOSAL, version=2), FailedPrecondition, "WRONG_PHASE"),
        (_status("c1", Phase.FINANCE_CONCURRENCE, version=3), FailedPrecondition, "STALE_PROPOSAL_VERSION"),
        (None, Unavailable, "WORKFLOW_STATE_UNAVAILABLE"),
    ],
)
async def test_a_concurrence_the_workflow_would_refuse_is_recorded_nowhere(
    uow, workflows, review, funding, status, error, reason
):
    await _cycle(uow, workflows)
    if status is not None:
        workflows.statuses["c1"] = status
    review.propose("c1", 2, _line("app_a", 200))
    with pytest.raises(error) as e:
        await _concur(uow, workflows, review, funding)
    assert e.value.reason == reason
    assert (review.reads, funding.recorded, workflows.decisions) == ([], [], [])


async def test_a_decision_other_than_the_one_funding_holds_for_the_version_is_refused(
    uow, workflows, review, funding
):
    await _cycle(uow, workflows)
    workflows.statuses["c1"] = _status("c1", Phase.FINANCE_CONCURRENCE, version=2)
    review.propose("c1", 2, _line("app_a", 200))
    await _concur(uow, workflows, review, funding, agree=False, opinion="退回")
    with pytest.raises(FailedPrecondition) as e:
        await _concur(uow, workflows, review, funding, agree=True)
    assert e.value.reason == "CONCURRENCE_ALREADY_RECORDED"
    assert len(workflows.updates("decide_finance_concurrence")) == 1


# ---------------------------------------------------------------- revision, deadlines, resumption


async def test_a_revision_reaches_the_workflow_and_answers_the_new_version(uow, identity, workflows):
    ids = await _submitted(uow, identity, workflows, "org_j1")
    change = ProposalChange(ids["org_j1"], 150 * 1_000_000, "按绩效目标调减（第十一条“最高”）")
    with pytest.raises(NotFound) as e:
        await decisions.revise_proposal(
            uow=uow,
            workflows=workflows,
            principal=INDUSTRY,
            cycle_id="c1",
            proposal_version=1,
            changes=[change, ProposalChange("app_nope", 0, "x")],
            note="",
        )
    assert "app_nope" in e.value.message
    assert workflows.decisions == []
    version, view = await decisions.revise_proposal(
        uow=uow,
        workflows=workflows,
        principal=INDUSTRY,
        cycle_id="c1",
        proposal_version=1,
        changes=[change],
        note="财政厅意见已采纳",
    )
    assert version == 2
    assert view.cycle.cycle_id == "c1"
    (revision,) = workflows.updates("revise_proposal")
    assert (revision.proposal_version, revision.changes, revision.note) == (1, [change], "财政厅意见已采纳")
    assert revision.actor.role == authz.PROVINCE_INDUSTRY


async def _extend(uow, workflows, new, phase=Phase.APPLYING, now=IN_WINDOW):
    return await decisions.extend_deadline(
        uow=uow,
        workflows=workflows,
        principal=INDUSTRY,
        cycle_id="c1",
        phase=phase,
        new_deadline=new,
        reason="系统停机，申报截止日顺延",
        now=now,
    )


async def test_a_deadline_moves_only_later_and_the_window_stays_inside_the_policy(uow, identity, workflows):
    c = await _cycle(uow, workflows)
    close = c.applications_close_at
    workflows.statuses["c1"] = _status("c1", Phase.APPLYING, deadline=close.isoformat())
    for too_early in (close, close - timedelta(seconds=1)):
        with pytest.raises(InvalidArgument) as e:
            await _extend(uow, workflows, too_early)
        assert [v.field for v in e.value.violations] == ["new_deadline"]
    with pytest.raises(FailedPrecondition) as lapsed:  # the demo policy lapses on 2027-12-31
        await _extend(uow, workflows, datetime(2028, 1, 2, tzinfo=UTC))
    assert lapsed.value.reason == "WINDOW_AFTER_POLICY_VALIDITY"
    assert workflows.decisions == []
    later = close + timedelta(days=2)
    await _extend(uow, workflows, later)
    (ext,) = workflows.updates("extend_deadline")
    assert (ext.phase, ext.new_deadline, ext.reason) == (
        Phase.APPLYING,
        later.isoformat(),
        "系统停机，申报截止日顺延",
    )
    # Intake's own window follows: a submission after the old close is inside the new one.
    app = await _draft(uow, identity, "org_j1")
    done = await _submit(uow, identity, "org_j1", app.application_id, at=close + timedelta(days=1))
    assert done.application.status == ApplicationStatus.SUBMITTED


async def test_only_a_cycle_that_needs_attention_is_resumed(uow, workflows):
    await _cycle(uow, workflows)
    workflows.statuses["c1"] = _status("c1", Phase.PUBLISHED)
    with pytest.raises(FailedPrecondition) as e:
        await decisions.resume_cycle(
            uow=uow, workflows=workflows, principal=INDUSTRY, cycle_id="c1", note="x"
        )
    assert e.value.reason == "NOT_NEEDING_ATTENTION"
    assert workflows.decisions == []
    attention = Attention(
        "open_budget", "no appropriation open for 2026", "2026 年度预算指标未下达", NOW.isoformat()
    )
    workflows.statuses["c1"] = _status("c1", Phase.PUBLISHED, attention=attention)
    operator = Principal("u_op", "op", frozenset({authz.SYSTEM_ADMIN}), display_name="系统管理员")
    await decisions.resume_cycle(
        uow=uow, workflows=workflows, principal=operator, cycle_id="c1", note="预算指标已下达"
    )
    (resumption,) = workflows.updates("resume")
    assert (resumption.note, resumption.actor.role) == ("预算指标已下达", authz.SYSTEM_ADMIN)


# ---------------------------------------------------------------- the decision log


def _decision(kind: DecisionKind, key: str, at: datetime, **extra) -> CycleDecision:
    values = {
        "decision_id": "",
        "cycle_id": "c1",
        "kind": kind,
        "idempotency_key": key,
        "actor_user_id": "u_fin",
        "actor_name": "省财政",
        "role": authz.PROVINCE_FINANCE,
        "proposal_version": 1,
        "approve": True,
        "opinion": "同意",
        "reference": "",
        "decided_at": at,
        "details": {},
        "recorded_at": at,
        **extra,
    }
    return CycleDecision(**values)


async def test_decisions_are_recorded_once_per_key_and_listed_in_the_order_taken(uow, workflows):
    c = await _cycle(uow, workflows)
    later = NOW + timedelta(hours=2)

    async def record(d):
        return await workflow_records.record_cycle_decision(uow=uow, decision=d, now=NOW + timedelta(days=1))

    party = await record(
        _decision(DecisionKind.PARTY_GROUP, "party:v1", later, reference="党组会〔2026〕3号")
    )
    finance = await record(_decision(DecisionKind.FINANCE_CONCURRENCE, "finance:v1", NOW))
    repeat = await record(_decision(DecisionKind.FINANCE_CONCURRENCE, "finance:v1", NOW, opinion="变了"))
    assert repeat == finance
    assert finance.decision_id.startswith("dec")
    assert finance.recorded_at == NOW + timedelta(days=1)
    new_close = c.applications_close_at + timedelta(days=3)
    extension = _decision(
        DecisionKind.DEADLINE_EXTENDED,
        "extend:1",
        later + timedelta(hours=1),
        reference="APPLYING",
        details={"phase": "APPLYING", "new_deadline": new_close.isoformat()},
    )
    await record(extension)
    seen, after = [], None
    while True:
        page = await workflow_records.list_cycle_decisions(uow=uow, cycle_id="c1", page=PageRequest(2, after))
        seen += [(d.kind, d.idempotency_key) for d in page.items]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [
        (DecisionKind.FINANCE_CONCURRENCE, "finance:v1"),
        (DecisionKind.PARTY_GROUP, "party:v1"),
        (DecisionKind.DEADLINE_EXTENDED, "extend:1"),
    ]
    assert party.reference == "党组会〔2026〕3号"
    async with uow() as repo:
        stored = await repo.cycle("c1")
    assert stored.applications_close_at == new_close
    with pytest.raises(NotFound):
        await workflow_records.record_cycle_decision(
            uow=uow, decision=_decision(DecisionKind.RESUMED, "r", NOW, cycle_id="nope"), now=NOW
        )


# ---------------------------------------------------------------- outcomes: the applicant sees every step


async def _recommended(uow, identity, workflows, *orgs: str) -> dict[str, str]:
    ids = await _submitted(uow, identity, workflows, *orgs)
    await recommendations.record_recommendation(
        uow=uow,
        cycle_id="c1",
        city_code=JINAN,
        document_no="济〔2026〕1号",
        items=[_rec(ids[o], True, "同意") for o in orgs],
        signoffs=[],
        now=NOW,
    )
    return ids


async def _outcomes(uow, review, funding, stage, version=0):
    return await outcomes.record_application_outcomes(
        uow=uow,
        review=review,
        funding=funding,
        cycle_id="c1",
        stage=stage,
        proposal_version=version,
        now=NOW + timedelta(days=30),
    )


async def _app(uow, application_id):
    async with uow() as repo:
        return await repo.application(application_id)


async def test_each_stage_moves_the_applications_as_the_owning_service_records_it(
    uow, identity, workflows, review, funding
):
    ids = await _recommended(uow, identity, workflows, "org_j1", "org_j2", "org_j3")
    a, b, c = ids["org_j1"], ids["org_j2"], ids["org_j3"]
    decided = NOW + timedelta(days=20)
    review.compliance["c1"] = [
        ComplianceOutcome(a, True, (), decided),
        ComplianceOutcome(b, True, (), decided),
        ComplianceOutcome(c, False, ("未提供运营机构章程", "算力清单不实"), decided),
    ]
    assert await _outcomes(uow, review, funding, OutcomeStage.COMPLIANCE) == 3
    assert await _outcomes(uow, review, funding, OutcomeStage.COMPLIANCE) == 0  # a retried activity
    rejected = await _app(uow, c)
    assert rejected.status == ApplicationStatus.NON_COMPLIANT
    assert rejected.timeline[-1].note == "省级合规性审核未通过：未提供运营机构章程；算力清单不实"
    assert rejected.timeline[-1].at == decided

    review.propose("c1", 1, _line(a, 200), _line(b, 0, reserve=True, rank=2))
    assert await _outcomes(uow, review, funding, OutcomeStage.PROPOSAL, 1) == 2
    assert (await _app(uow, a)).timeline[-1].note == "列入拟支持名单（第 1 版，卓越级），拟奖补 200.00 万元"
    assert (await _app(uow, b)).timeline[-1].note == "列为备选（第 1 版，排名第 2 位）"

    await workflow_records.record_cycle_decision(
        uow=uow,
        decision=_decision(
            DecisionKind.PUBLICITY_OUTCOME, "publicity", NOW, reference="鲁工信数据〔2026〕88号"
        ),
        now=NOW,
    )
    assert await _outcomes(uow, review, funding, OutcomeStage.ANNOUNCED, 1) == 1  # the reserve stays as it is
    assert (await _app(uow, a)).timeline[
        -1
    ].note == "经公示后发文公布（鲁工信数据〔2026〕88号），奖补 200.00 万元"

    funding.payments["c1"] = [Disbursement(a, 200_000_000, PaymentStatus.PAID, "TR-0001")]
    assert await _outcomes(uow, review, funding, OutcomeStage.DISBURSED) == 1
    # A list computed later never un-pays an award.
    review.propose("c1", 2, _line(a, 0, rank=5), _line(b, 200, rank=1))
    assert await _outcomes(uow, review, funding, OutcomeStage.PROPOSAL, 2) == 1
    paid = await _app(uow, a)
    assert [s.status for s in paid.timeline] == [
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.RECOMMENDED,
        ApplicationStatus.COMPLIANT,
        ApplicationStatus.PROPOSED,
        ApplicationStatus.AWARDED,
        ApplicationStatus.PAID,
    ]
    assert paid.timeline[-1].note == "奖补资金 200.00 万元已拨付（国库支付凭证 TR-0001）"
    assert (await _app(uow, b)).status == ApplicationStatus.PROPOSED
    assert (await _app(uow, c)).status == ApplicationStatus.NON_COMPLIANT


async def test_a_refused_payment_is_shown_with_why_until_it_is_paid(
    uow, identity, workflows, review, funding
):
    ids = await _recommended(uow, identity, workflows, "org_j1")
    a = ids["org_j1"]
    await _force(uow, a, ApplicationStatus.AWARDED)
    funding.payments["c1"] = [Disbursement(a, 100_000_000, PaymentStatus.FAILED, failure="收款账户已注销")]
    assert await _outcomes(uow, review, funding, OutcomeStage.DISBURSED) == 1
    refused = await _app(uow, a)
    assert refused.status == ApplicationStatus.PAYMENT_REFUSED
    assert refused.timeline[-1].note == "奖补资金 100.00 万元拨付未成功，国库拒绝支付：收款账户已注销"
    funding.payments["c1"].append(Disbursement(a, 100_000_000, PaymentStatus.PAID, "TR-9"))
    funding.payments["c1"].append(Disbursement(a, 100_000_000, PaymentStatus.FAILED, failure="重复"))
    assert await _outcomes(uow, review, funding, OutcomeStage.DISBURSED) == 1
    assert (await _app(uow, a)).status == ApplicationStatus.PAID


async def test_an_unknown_proposal_version_is_the_owners_refusal(uow, workflows, review, funding):
    await _cycle(uow, workflows)
    with pytest.raises(NotFound):
        await _outcomes(uow, review, funding, OutcomeStage.PROPOSAL, 7)
    with pytest.raises(NotFound):
        await outcomes.record_application_outcomes(
            uow=uow,
            review=review,
            funding=funding,
            cycle_id="nope",
            stage=OutcomeStage.COMPLIANCE,
            proposal_version=0,
            now=NOW,
        )


# ---------------------------------------------------------------- the Temporal adapter under load (point 13)


class _BusyHandle:
    """A workflow handle that, like Temporal, refuses an update while ``limit`` are in flight (and
    the first ``busy_first`` attempts outright), recording ids and the most in flight at once."""

    def __init__(self, *, limit: int = 10, busy_first: int = 0, work: float = 0.01) -> None:
        self.limit, self.busy_first, self.work = limit, busy_first, work
        self.in_flight = self.most = self.attempts = 0
        self.ids: list[str | None] = []

    async def execute_update(self, update, arg, *, id=None):  # noqa: A002 - Temporal's own name
        self.attempts += 1
        self.ids.append(id)
        if self.attempts <= self.busy_first or self.in_flight >= self.limit:
            raise RPCError(
                "limit on number of concurrent in-flight updates", RPCStatusCode.RESOURCE_EXHAUSTED, b""
            )
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(self.work)
            return ComplianceResult(decided=1, remaining=0)
        finally:
            self.in_flight -= 1


def _busy_gateway(handle, **options) -> CycleGateway:
    return CycleGateway(_Client(handle), "q", **options)  # type: ignore[arg-type]


_ANY = ComplianceDecisions(Actor("u", "省工信", authz.PROVINCE_INDUSTRY), [])


async def test_an_update_turned_away_as_busy_is_retried_with_the_same_id():
    handle = _BusyHandle(busy_first=3)
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    gateway = _busy_gateway(handle, first_backoff=0.1, max_backoff=0.4, sleep=sleep)
    result = await gateway.decide_compliance("c1", _ANY)
    assert result.decided == 1
    assert handle.attempts == 4
    assert len(set(handle.ids)) == 1  # Temporal runs an update id at most once
    assert handle.ids[0].startswith("decide_compliance-")
    # Doubling, capped, jittered by at most ±50 %.
    for wait, base in zip(waits, [0.1, 0.2, 0.4], strict=True):
        assert base * 0.5 <= wait <= base * 1.5


async def test_the_back_off_doubles_to_its_cap_within_the_retry_budget():
    gateway = _busy_gateway(_BusyHandle(), first_backoff=0.05, max_backoff=2.0, retry_for=10.0)
    waits = gateway.backoffs()
    assert waits[:7] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert set(waits[6:]) == {2.0}
    assert sum(waits) <= 10.0 < sum(waits) + 2.0


async def test_an_update_still_busy_when_the_budget_is_spent_is_unavailable_not_lost():
    handle = _BusyHandle(busy_first=10**6)

    async def sleep(s: float) -> None:
        return None

    gateway = _busy_gateway(handle, first_backoff=0.1, max_backoff=0.4, retry_for=1.0, sleep=sleep)
    with pytest.raises(Unavailable) as e:
        await gateway.decide_compliance("c1", _ANY)
    assert e.value.reason == "WORKFLOW_BUSY"
    assert e.value.message_zh
    assert handle.attempts == len(gateway.backoffs()) + 1


@pytest.mark.parametrize("max_in_flight", [8, 16])
async def test_sixteen_decisions_arriving_together_all_succeed(max_in_flight):
    """16 cities' sign-offs at once: intake keeps at most 8 in flight (Temporal's limit is 10); even
    without that bound, the retry gets every one through."""
    handle = _BusyHandle(limit=10, work=0.02)
    gateway = _busy_gateway(handle, max_in_flight=max_in_flight, first_backoff=0.005, max_backoff=0.02)
    results = await asyncio.gather(*(gateway.decide_compliance("c1", _ANY) for _ in range(16)))
    assert len(results) == 16
    assert all(r.decided == 1 for r in results)
    assert handle.most <= min(max_in_flight, 10)
    if max_in_flight == 8:
        assert handle.attempts == 16  # queued in intake, never turned away
    else:
        assert handle.attempts > 16  # turned away by "Temporal", retried
