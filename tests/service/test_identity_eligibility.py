"""CheckEligibility over gRPC under the cycle's policy (Art. 5(1), Art. 18): the eligibility section
intake sends is applied — a city policy's look-back and territory really change the answer — and
the failure messages cite the policy's own numbers and territory; no section means the province's
defaults; a malformed section is refused field by field."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio

from aicc.identity.v1 import identity_pb2 as pb
from services.identity.domain.uscc import make_uscc
from tests.support.seed import create_users, error_of
from tests.support.suite import InProcessSuite, suite_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

PW = "eligibility-password-123"
AS_OF = "2026-06-30"


@dataclass
class World:
    prov: object  # province industry: records facts and checks anyone
    jinan_dishonest_4y: str  # Jinan, green, a serious-dishonesty record that ended 4 years ago
    jinan_clean: str  # Jinan, green, clean
    jinan_no_green: str  # Jinan, clean, no green-threshold status
    jinan_branch: str  # Jinan, green, clean, not a legal person (a branch)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    settings = suite_settings(tmp_path_factory.mktemp("eligibility"))
    async with InProcessSuite(settings, services=["identity"]) as suite:
        op = await suite.admin()
        await create_users(op, PW, [("prov-ind", ["province_industry"], "", "")])
        prov = suite.stub("identity", await suite.login("prov-ind", PW))
        ids = []
        names = ("济南失信四年前有限公司", "济南守信有限公司", "济南未认定有限公司", "济南某公司历下分公司")
        for n, name in enumerate(names, start=1):
            uscc = make_uscc("370102", 400 + n)
            org = (
                await op.CreateOrganization(
                    pb.CreateOrganizationRequest(
                        uscc=uscc, name=name, kind=pb.ORGANIZATION_KIND_ENTERPRISE, legal_person=n != 4
                    )
                )
            ).organization
            ids.append(org.organization_id)
            if n != 3:
                await prov.RecordGreenThreshold(
                    pb.RecordGreenThresholdRequest(
                        uscc=uscc, meets=True, as_of_date="2026-01-10", source="省发改委"
                    )
                )
            if n == 1:  # ended 2022-05-31: more than 3, less than 5 years before AS_OF
                await prov.RecordCreditRecord(
                    pb.RecordCreditRecordRequest(
                        uscc=uscc,
                        severity="serious_dishonesty",
                        start_date="2021-03-01",
                        end_date="2022-05-31",
                        source="信用中国",
                        reference="XY-2021-077",
                    )
                )
        yield World(prov, *ids)


def rules(**kw) -> pb.EligibilityRules:
    values = {
        "require_legal_person": True,
        "require_green_threshold": True,
        "serious_dishonesty_lookback_years": 3,
        "division_prefix": "37",
    }
    values.update(kw)
    return pb.EligibilityRules(**values)


async def check(w: World, org: str, r: pb.EligibilityRules | None = None) -> pb.CheckEligibilityResponse:
    req = pb.CheckEligibilityRequest(organization_id=org, as_of_date=AS_OF)
    if r is not None:
        req.rules.CopyFrom(r)
    return await w.prov.CheckEligibility(req)


async def test_a_longer_look_back_refuses_what_the_default_accepts(world: World) -> None:
    w = world
    assert (await check(w, w.jinan_dishonest_4y)).eligible  # the province's defaults: 3 years
    assert (await check(w, w.jinan_dishonest_4y, rules())).eligible
    five = await check(w, w.jinan_dishonest_4y, rules(serious_dishonesty_lookback_years=5))
    assert not five.eligible
    (f,) = five.failures
    assert f.rule == "no_serious_dishonesty"
    assert "XY-2021-077" in f.message
    # the policy's number is cited, not the default's
    assert "5 years" in f.message
    assert "前5年内" in f.message_zh
    assert "3 years" not in f.message
    assert "前3年内" not in f.message_zh


async def test_a_city_territory_refuses_another_citys_enterprise(world: World) -> None:
    w = world
    assert (await check(w, w.jinan_clean, rules(division_prefix="37"))).eligible
    qingdao = await check(w, w.jinan_clean, rules(division_prefix="3702"))
    assert not qingdao.eligible
    (f,) = qingdao.failures
    assert (f.rule, f.article) == ("registered_in_region", "Art. 18")
    assert "Qingdao" in f.message
    assert "青岛市" in f.message_zh
    assert "370102" in f.message  # the enterprise's own division code
    # a county-level prefix names its city and the code
    laoshan = await check(w, w.jinan_clean, rules(division_prefix="370212"))
    assert "青岛市行政区划 370212" in laoshan.failures[0].message_zh
    assert (await check(w, w.jinan_clean, rules(division_prefix="3701"))).eligible


async def test_the_green_threshold_and_legal_person_apply_only_when_required(world: World) -> None:
    w = world
    required = await check(w, w.jinan_no_green)
    assert [f.rule for f in required.failures] == ["green_threshold"]
    assert (await check(w, w.jinan_no_green, rules(require_green_threshold=False))).eligible
    branch = await check(w, w.jinan_branch)
    assert [f.rule for f in branch.failures] == ["legal_person"]
    assert (await check(w, w.jinan_branch, rules(require_legal_person=False))).eligible
    assert not (await check(w, w.jinan_branch, rules(require_green_threshold=False))).eligible
    # a message without rules set (all false/0 in the wire default) is still a section: its prefix is required
    err = await error_of(
        w.prov.CheckEligibility(
            pb.CheckEligibilityRequest(
                organization_id=w.jinan_clean, as_of_date=AS_OF, rules=pb.EligibilityRules()
            )
        )
    )
    assert [v.field for v in err.violations] == ["rules.division_prefix"]


async def test_a_malformed_section_is_refused_field_by_field(world: World) -> None:
    w = world
    for prefix in ("3", "370", "3702001", "11", "3712", "37ab", "３７"):
        err = await error_of(check(w, w.jinan_clean, rules(division_prefix=prefix)))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT, prefix
        assert [v.field for v in err.violations] == ["rules.division_prefix"], prefix
        assert err.violations[0].description_zh
    for years in (-1, 11):
        err = await error_of(check(w, w.jinan_clean, rules(serious_dishonesty_lookback_years=years)))
        assert [v.field for v in err.violations] == ["rules.serious_dishonesty_lookback_years"], years
    for years in (0, 10):
        assert (await check(w, w.jinan_clean, rules(serious_dishonesty_lookback_years=years))).eligible
