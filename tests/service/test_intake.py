"""Intake over gRPC with a real Temporal dev server and the real worker: cycles from policies,
applications, and each error kind (bad input naming fields, unknown ids, wrong phase, duplicates)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import yaml
from temporalio.testing import WorkflowEnvironment

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as pb
from aicc.platform.clients import Clients
from aicc.platform.db import unit_of_work
from aicc.platform.policy import default_policy_dir
from aicc.platform.status import read_error
from aicc.platform.temporal import connect
from services.identity.domain.uscc import make_uscc
from services.intake.domain.model import Application, ApplicationStatus, Cycle
from services.intake.store import IntakeStore
from tests.support.suite import InProcessSuite, suite_settings
from workflows.cycle.activities import ServiceAccountToken
from workflows.cycle.models import Phase
from workflows.cycle.worker import build_worker

PASSWORD = "intake-test-password-1"
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _policy_text(**schedule) -> str:
    data = yaml.safe_load((default_policy_dir() / "demo.yaml").read_text(encoding="utf-8"))
    data["schedule"].update(schedule)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), namespace="default"
    )
    target = env.client.service_client.config.target_host
    settings = suite_settings(tmp_path_factory.mktemp("intake"), temporal_address=target)
    async with InProcessSuite(
        settings, services=["identity", "intake", "review", "funding", "supervision"]
    ) as suite:
        token = ServiceAccountToken(settings)
        clients = Clients(settings, token_source=token)
        # the worker reads what intake writes: the same codec (the suite's dev key)
        worker = build_worker(await connect(settings, tracing=False), settings, clients)
        async with worker:
            op = suite.stub("identity", await suite.operator_token())
            org = (
                await op.CreateOrganization(
                    ipb.CreateOrganizationRequest(
                        uscc=make_uscc("370102", 1),
                        name="济南测试企业",
                        kind=ipb.ORGANIZATION_KIND_ENTERPRISE,
                        legal_person=True,
                    )
                )
            ).organization
            opo = (
                await op.CreateOrganization(
                    ipb.CreateOrganizationRequest(
                        uscc=make_uscc("370102", 2),
                        name="济南测试运营中心",
                        kind=ipb.ORGANIZATION_KIND_OPERATOR_ORG,
                        legal_person=True,
                        parent_organization_id=org.organization_id,
                    )
                )
            ).organization
            await op.CreateUser(
                ipb.CreateUserRequest(
                    username="ind", display_name="省工信", password=PASSWORD, roles=["province_industry"]
                )
            )
            await op.CreateUser(
                ipb.CreateUserRequest(
                    username="fin", display_name="省财政", password=PASSWORD, roles=["province_finance"]
                )
            )
            await op.CreateUser(
                ipb.CreateUserRequest(
                    username="app",
                    display_name="申报",
                    password=PASSWORD,
                    roles=["applicant"],
                    organization_id=org.organization_id,
                )
            )
            yield {
                "suite": suite,
                "org": org,
                "operator_org": opo,
                "industry": suite.stub("intake", await suite.login("ind", PASSWORD)),
                "finance": suite.stub("intake", await suite.login("fin", PASSWORD)),
                "applicant": suite.stub("intake", await suite.login("app", PASSWORD)),
            }
        await clients.close()
        await token.close()
    await env.shutdown()


async def _error(call):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return read_error(e.value)


async def test_cycle_is_created_from_a_policy_and_the_business_key_refuses_a_second(world):
    ind = world["industry"]
    c = (
        await ind.CreateCycle(
            pb.CreateCycleRequest(
                cycle_id="t-2026-a", title="测试", policy_yaml=_policy_text(applications_open_after="P1D")
            )
        )
    ).cycle
    assert c.phase == pb.CYCLE_PHASE_PUBLISHED
    assert c.budget_fen == 2_000_000_000
    assert list(c.legal_basis)
    got = (await ind.GetCycle(pb.GetCycleRequest(cycle_id="t-2026-a"))).cycle
    assert got.workflow_id == "cycle-t-2026-a"
    assert got.history[0].phase == pb.CYCLE_PHASE_PUBLISHED
    err = await _error(
        ind.CreateCycle(pb.CreateCycleRequest(cycle_id="t-2026-a", title="again", policy_name="demo"))
    )
    assert err.code == grpc.StatusCode.ALREADY_EXISTS


async def test_bad_input_names_each_field_and_a_bad_policy_lists_every_error(world):
    ind = world["industry"]
    err = await _error(ind.CreateCycle(pb.CreateCycleRequest(cycle_id="bad id!", title="")))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} >= {"cycle_id", "title", "policy"}
    broken = (
        _policy_text().replace("quota: 15", "quota: -1").replace("budget_yuan: 20000000", "budget_yuan: lots")
    )
    err = await _error(
        ind.CreateCycle(pb.CreateCycleRequest(cycle_id="t-bad", title="x", policy_yaml=broken))
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in err.violations}
    assert "policy_yaml.quota" in fields, fields
    assert "policy_yaml.budget_yuan" in fields, fields
    assert (
        await _error(ind.GetCycle(pb.GetCycleRequest(cycle_id="t-bad")))
    ).code == grpc.StatusCode.NOT_FOUND


async def test_unknown_ids_are_not_found(world):
    assert (
        await _error(world["industry"].GetCycle(pb.GetCycleRequest(cycle_id="nope")))
    ).code == grpc.StatusCode.NOT_FOUND
    assert (
        await _error(world["applicant"].GetApplication(pb.GetApplicationRequest(application_id="app_nope")))
    ).code == grpc.StatusCode.NOT_FOUND
    assert (
        await _error(
            world["industry"].CreateCycle(
                pb.CreateCycleRequest(cycle_id="t-x", title="x", policy_name="no-such-policy")
            )
        )
    ).code == grpc.StatusCode.NOT_FOUND


async def test_actions_outside_their_phase_are_refused_naming_the_phase(world):
    ind, app = world["industry"], world["applicant"]
    await ind.CreateCycle(
        pb.CreateCycleRequest(
            cycle_id="t-2026-b", title="测试", policy_yaml=_policy_text(applications_open_after="P1D")
        )
    )
    draft = (
        await app.CreateApplication(
            pb.CreateApplicationRequest(
                cycle_id="t-2026-b",
                organization_id=world["org"].organization_id,
                operator_organization_id=world["operator_org"].organization_id,
                title="能力中心",
                service_lines=["compute"],
            )
        )
    ).application
    assert draft.status == pb.APPLICATION_STATUS_DRAFT
    assert draft.city_code == "370100"
    decl = pb.AuthenticityDeclaration(signer_name="张三", accepted=True)
    err = await _error(
        app.SubmitApplication(
            pb.SubmitApplicationRequest(application_id=draft.application_id, declaration=decl)
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "PUBLISHED" in err.message
    assert err.metadata["phase"] == "PUBLISHED"
    # A decision in the wrong phase is refused by the workflow's validator, and the phase is named.
    err = await _error(
        world["finance"].DecideFinanceConcurrence(
            pb.DecideFinanceConcurrenceRequest(
                cycle_id="t-2026-b", proposal_version=1, agree=True, opinion="同意"
            )
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "PUBLISHED" in err.message
    assert err.message_zh
    assert (
        await ind.GetCycle(pb.GetCycleRequest(cycle_id="t-2026-b"))
    ).cycle.phase == pb.CYCLE_PHASE_PUBLISHED


async def test_declaration_is_required_and_applicants_apply_for_their_own_organisation(world):
    ind, app = world["industry"], world["applicant"]
    await ind.CreateCycle(
        pb.CreateCycleRequest(
            cycle_id="t-2026-c",
            title="测试",
            policy_yaml=_policy_text(applications_open_after="PT0S", application_window="P1D"),
        )
    )
    err = await _error(
        app.SubmitApplication(
            pb.SubmitApplicationRequest(application_id="app_x", declaration=pb.AuthenticityDeclaration())
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"declaration.signer_name", "declaration.accepted"}
    err = await _error(
        app.CreateApplication(
            pb.CreateApplicationRequest(
                cycle_id="t-2026-c",
                organization_id="org_someone_else",
                operator_organization_id="org_y",
                title="x",
                service_lines=["compute"],
            )
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await _error(
        app.CreateApplication(
            pb.CreateApplicationRequest(
                cycle_id="t-2026-c",
                organization_id=world["org"].organization_id,
                operator_organization_id=world["org"].organization_id,
                title="x",
                service_lines=["teleportation"],
            )
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"service_lines[0]"}


# ---------------------------------------------------------------- pages (AIP-158)


async def _seed_directly(world, cycle_id: str, n_apps: int) -> list[str]:
    """A cycle (no workflow) and ``n_apps`` applications written straight into intake's store, in
    creation order: enough rows for the default and the maximum page without n enterprises."""
    host = world["suite"].hosts["intake"]
    uow = unit_of_work(host.runtime.db, IntakeStore)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    async with uow() as repo:
        await repo.add_cycle(
            Cycle(
                cycle_id=cycle_id,
                title="分页",
                policy_id="demo",
                policy_json="{}",
                scope="province",
                city_code="370000",
                legal_basis=[],
                phase=Phase.APPLYING,
                note="",
                proposal_version=0,
                budget_fen=0,
                applications_open_at=at,
                applications_close_at=at,
                city_review_due_at=at,
                workflow_id=f"cycle-{cycle_id}",
                created_by="test",
                created_at=at,
            )
        )
        ids = []
        for i in range(n_apps):
            app = Application(
                application_id=f"app_{cycle_id}_{i:04d}",
                cycle_id=cycle_id,
                organization_id=f"org_{i:04d}",
                operator_organization_id=f"org_{i:04d}_op",
                enterprise_name=f"企业{i}",
                city_code="370100" if i % 2 else "370200",
                title="能力中心",
                service_lines=["compute"],
                status=ApplicationStatus.SUBMITTED,
                created_by="test",
                created_at=at + timedelta(milliseconds=i // 3),  # some share an instant: ordered by id
            )
            await repo.add_application(app, [])
            ids.append(app.application_id)
    return ids


async def _all_pages(call, request, field: str, key: str, *, size: int) -> tuple[list[str], int]:
    """Every item id, following next_page_token; and how many pages it took."""
    seen: list[str] = []
    pages = 0
    token = ""
    while True:
        request.page_size, request.page_token = size, token
        resp = await call(request)
        items = getattr(resp, field)
        assert len(items) <= (size or 50)
        seen += [getattr(i, key) for i in items]
        pages += 1
        token = resp.next_page_token
        if not token:
            return seen, pages


async def test_applications_are_listed_a_page_at_a_time_default_50_at_most_500(world):
    ind = world["industry"]
    ids = await _seed_directly(world, "t-pages", 520)
    req = lambda: pb.ListApplicationsRequest(cycle_id="t-pages")  # noqa: E731
    first = await ind.ListApplications(req())
    assert [a.application_id for a in first.applications] == ids[:50]
    assert first.next_page_token
    biggest = await ind.ListApplications(pb.ListApplicationsRequest(cycle_id="t-pages", page_size=10_000))
    assert [a.application_id for a in biggest.applications] == ids[:500]
    assert biggest.next_page_token
    rest = await ind.ListApplications(
        pb.ListApplicationsRequest(cycle_id="t-pages", page_size=500, page_token=biggest.next_page_token)
    )
    assert [a.application_id for a in rest.applications] == ids[500:]
    assert not rest.next_page_token
    seen, pages = await _all_pages(ind.ListApplications, req(), "applications", "application_id", size=7)
    assert seen == ids
    assert pages == 75
    # The filter stays part of the listing: Jinan's only, in order, over several pages.
    jinan, _ = await _all_pages(
        ind.ListApplications,
        pb.ListApplicationsRequest(cycle_id="t-pages", city_code="370100"),
        "applications",
        "application_id",
        size=100,
    )
    assert jinan == ids[1::2]


async def test_a_page_token_is_for_its_caller_and_its_filter_only(world):
    ind, fin = world["industry"], world["finance"]
    await _seed_directly(world, "t-tokens", 5)
    first = await ind.ListApplications(pb.ListApplicationsRequest(cycle_id="t-tokens", page_size=2))
    token = first.next_page_token
    refused = [
        # another caller with the same filter
        fin.ListApplications(pb.ListApplicationsRequest(cycle_id="t-tokens", page_size=2, page_token=token)),
        # the same caller with another filter
        ind.ListApplications(
            pb.ListApplicationsRequest(
                cycle_id="t-tokens", status=pb.APPLICATION_STATUS_SUBMITTED, page_size=2, page_token=token
            )
        ),
        # an altered token
        ind.ListApplications(
            pb.ListApplicationsRequest(cycle_id="t-tokens", page_size=2, page_token=token[:-2] + "AA")
        ),
        # a token of another list
        ind.ListCycles(pb.ListCyclesRequest(page_size=2, page_token=token)),
    ]
    for call in refused:
        err = await _error(call)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in err.violations] == ["page_token"]
    err = await _error(ind.ListApplications(pb.ListApplicationsRequest(cycle_id="t-tokens", page_size=-1)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["page_size"]
    # The token still serves its own caller and filter.
    second = await ind.ListApplications(
        pb.ListApplicationsRequest(cycle_id="t-tokens", page_size=2, page_token=token)
    )
    assert len(second.applications) == 2


async def test_cycles_are_listed_newest_first_a_page_at_a_time(world):
    ind = world["industry"]
    for i in range(50):
        await _seed_directly(world, f"t-cyc-{i:02d}", 0)
    everything = await ind.ListCycles(pb.ListCyclesRequest(page_size=500))
    assert not everything.next_page_token
    ids = [c.cycle_id for c in everything.cycles]
    assert {f"t-cyc-{i:02d}" for i in range(50)} | {"t-2026-a", "t-pages"} <= set(ids)
    assert len(ids) > 50
    default = await ind.ListCycles(pb.ListCyclesRequest())
    assert [c.cycle_id for c in default.cycles] == ids[:50]
    assert default.next_page_token
    order = [(c.created_at.ToDatetime(), c.cycle_id) for c in everything.cycles]
    assert order == sorted(order, reverse=True)  # the newest call first (by creation, then id)
    seen, pages = await _all_pages(ind.ListCycles, pb.ListCyclesRequest(), "cycles", "cycle_id", size=2)
    assert seen == ids
    assert pages == (len(ids) + 1) // 2
    # Every reader lists cycles; the applicant's token is its own.
    app_page = await world["applicant"].ListCycles(pb.ListCyclesRequest(page_size=1))
    assert [c.cycle_id for c in app_page.cycles] == ids[:1]
    err = await _error(ind.ListCycles(pb.ListCyclesRequest(page_size=1, page_token=app_page.next_page_token)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
