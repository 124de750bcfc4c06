"""Intake over gRPC with a real Temporal dev server and the real worker: cycles from policies,
applications, and each error kind (bad input naming fields, unknown ids, wrong phase, duplicates)."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import yaml
from temporalio.testing import WorkflowEnvironment

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as pb
from aicc.platform.clients import Clients
from aicc.platform.policy import default_policy_dir
from aicc.platform.status import read_error
from services.identity.domain.uscc import make_uscc
from tests.support.suite import InProcessSuite, suite_settings
from workflows.cycle.activities import ServiceAccountToken
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
        worker = build_worker(env.client, settings, clients)
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
    assert c.phase == pb.CYCLE_PHASE_PUBLISHED and c.budget_fen == 2_000_000_000 and list(c.legal_basis)
    got = (await ind.GetCycle(pb.GetCycleRequest(cycle_id="t-2026-a"))).cycle
    assert got.workflow_id == "cycle-t-2026-a" and got.history[0].phase == pb.CYCLE_PHASE_PUBLISHED
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
    assert "policy_yaml.quota" in fields and "policy_yaml.budget_yuan" in fields, fields
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
    assert draft.status == pb.APPLICATION_STATUS_DRAFT and draft.city_code == "370100"
    decl = pb.AuthenticityDeclaration(signer_name="张三", accepted=True)
    err = await _error(
        app.SubmitApplication(
            pb.SubmitApplicationRequest(application_id=draft.application_id, declaration=decl)
        )
    )
    assert (
        err.code == grpc.StatusCode.FAILED_PRECONDITION
        and "PUBLISHED" in err.message
        and err.metadata["phase"] == "PUBLISHED"
    )
    # A decision in the wrong phase is refused by the workflow's validator, and the phase is named.
    err = await _error(
        world["finance"].DecideFinanceConcurrence(
            pb.DecideFinanceConcurrenceRequest(
                cycle_id="t-2026-b", proposal_version=1, agree=True, opinion="同意"
            )
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and "PUBLISHED" in err.message and err.message_zh
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
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and {v.field for v in err.violations} == {
        "service_lines[0]"
    }
