"""Intake's use cases with fakes of the identity registry and the cycle workflows, on the real store
(a migrated SQLite file): who may do what to which object, what is refused and what it leaves
behind, and how a workflow's refusal reaches the caller."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
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
from aicc.platform.policy import find_policy
from services.intake.domain import applications, cycles, decisions, recommendations, workflow_records
from services.intake.domain.model import (
    ApplicationDraft,
    ApplicationFilter,
    ApplicationStatus,
    Declaration,
    Eligibility,
    EligibilityFailure,
    Instance,
    MaterialInput,
    Signoff,
)
from services.intake.gateway import CycleGateway
from services.intake.store import IntakeStore
from tests.support.fakes_intake import FakeCycleWorkflows, FakeIdentityRegistry
from workflows.cycle.models import Actor, ComplianceDecisions, Conclusion, Phase, RecommendationItem
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
    for org, city in (("org_j1", JINAN), ("org_j2", JINAN), ("org_q1", QINGDAO)):
        reg.operator_org(f"{org}_op", reg.enterprise(org, city))
    return reg


@pytest.fixture
def workflows() -> FakeCycleWorkflows:
    return FakeCycleWorkflows()


async def _cycle(uow, workflows, cycle_id="c1", *, applying=True, instance=PROVINCE, now=NOW):
    c = await cycles.create_cycle(
        uow=uow,
        workflows=workflows,
        principal=INDUSTRY,
        cycle_id=cycle_id,
        title="测试年度",
        policy=find_policy("demo"),
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
    # The window's close hands on the submitted, eligible applications only.
    handed = await workflow_records.close_application_window(uow=uow, cycle_id="c1")
    assert [d.application.application_id for d in handed] == [good.application_id]


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
        return [a.application_id for a in page.items]

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
    assert [a.application_id for a in first.items + rest.items] == in_order
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


async def test_a_signoff_reaches_the_workflow_in_the_signers_role(uow, workflows):
    await _cycle(uow, workflows)
    r = await recommendations.sign_city_recommendation(
        uow=uow,
        workflows=workflows,
        principal=JN_IND,
        cycle_id="c1",
        city_code=JINAN,
        document_no="济工信联字〔2026〕1号",
        items=[RecommendationItem("app_x", True, "同意")],
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


async def test_a_workflow_refusal_passes_through_as_the_same_domain_error(uow, workflows):
    await _cycle(uow, workflows)
    refusal = wrong_phase("DecideFinanceConcurrence", "PUBLISHED", "FINANCE_CONCURRENCE", "财政厅同意")
    workflows.refusal = refusal
    with pytest.raises(FailedPrecondition) as e:
        await decisions.decide_finance_concurrence(
            uow=uow,
            workflows=workflows,
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

    async def record(*items):
        return await recommendations.record_recommendation(
            uow=uow,
            cycle_id="c1",
            city_code=JINAN,
            document_no="济工信联字〔2026〕1号",
            items=list(items),
            signoffs=signoffs,
            now=NOW,
        )

    # An application of another city in Jinan's document: refused, nothing recorded.
    with pytest.raises(NotFound) as e:
        await record(
            RecommendationItem(j1.application_id, True, "同意"),
            RecommendationItem(q1.application_id, True, "x"),
        )
    assert e.value.reason == "APPLICATION_NOT_IN_CITY"
    async with uow() as repo:
        assert await repo.recommendation("c1", JINAN) is None
    items = [
        RecommendationItem(j1.application_id, True, "同意"),
        RecommendationItem(j2.application_id, False, "不足"),
    ]
    marked = await record(*items)
    assert [a.status for a in marked] == [ApplicationStatus.RECOMMENDED, ApplicationStatus.NOT_RECOMMENDED]
    await record(*items)  # a retried activity
    async with uow() as repo:
        rec = await repo.recommendation("c1", JINAN)
        again = await repo.application(j2.application_id)
    assert rec is not None
    assert rec.items == items
    assert rec.signoffs == signoffs
    assert again is not None
    assert again.recommendation_opinion == "不足"


# ---------------------------------------------------------------- the Temporal adapter


class _Handle:
    """A workflow handle whose updates fail as Temporal reports them."""

    def __init__(self, failure: BaseException) -> None:
        self.failure = failure
        self.updates: list[object] = []

    async def execute_update(self, update, arg):
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
