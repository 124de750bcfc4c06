"""Identity's use cases on the real store (a migrated SQLite file): who may read which organisation
and user (another's looks missing), the city-scoped organisation list, and the pages of every list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aicc.cli.registry import migrate
from aicc.platform.auth import Principal
from aicc.platform.db import Database, unit_of_work
from aicc.platform.errors import NotFound
from aicc.platform.pagination import PageRequest
from aicc.platform.ports import UnitOfWork
from services.identity.domain import experts, organizations, registry, users
from services.identity.domain.experts import RelationIn
from services.identity.domain.model import OrganizationKind, RelationKind
from services.identity.domain.ports import IdentityRepository
from services.identity.domain.uscc import make_uscc
from services.identity.store import IdentityStore

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
JINAN, QINGDAO = "370100", "370200"


class PlainCipher:
    """Stands in for the SM4 field cipher: reversible, bound to its place like the real one."""

    def encrypt(self, plaintext: str, aad: str = "") -> str:
        return f"{aad}|{plaintext}"

    def decrypt(self, token: str, aad: str = "") -> str:
        place, _, value = token.partition("|")
        assert place == aad
        return value


def who(*roles: str, user_id: str = "usr_x", organization_id: str = "", city_code: str = "") -> Principal:
    return Principal(
        user_id=user_id,
        username=user_id,
        roles=frozenset(roles),
        organization_id=organization_id,
        city_code=city_code,
    )


OPERATOR = who("security_admin", user_id="usr_op")  # account administration
PROVINCE = who("province_industry", user_id="usr_prov", city_code="370000")


@pytest.fixture
async def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    migrate("identity", url)
    db = Database(url)
    yield unit_of_work(db, IdentityStore)
    await db.dispose()


async def enterprise(uow: UnitOfWork[IdentityRepository], division: str, serial: int, name: str):
    return await organizations.create_organization(
        uow,
        uscc_code=make_uscc(division, serial),
        name=name,
        kind=OrganizationKind.ENTERPRISE,
        city_code="",
        legal_person=True,
        parent_organization_id="",
        now=NOW,
    )


async def operating_org(uow: UnitOfWork[IdentityRepository], parent_id: str):
    return await organizations.create_organization(
        uow,
        uscc_code=make_uscc("370102", 900),
        name="运营公司",
        kind=OrganizationKind.OPERATOR_ORG,
        city_code="",
        legal_person=True,
        parent_organization_id=parent_id,
        now=NOW,
    )


async def test_an_organisation_is_read_by_its_people_its_city_the_province_and_no_one_else(uow):
    j1 = await enterprise(uow, "370102", 1, "济南甲")
    j1_op = await operating_org(uow, j1.organization_id)
    assert (j1.city_code, j1_op.city_code) == (JINAN, JINAN)
    readers = [
        who("applicant", organization_id=j1.organization_id, city_code=JINAN),
        who("city_industry", city_code=JINAN),
        PROVINCE,
        who("auditor"),
        OPERATOR,
        who("expert"),
    ]
    for actor in readers:
        got = await organizations.get_organization(uow, actor=actor, organization_id=j1.organization_id)
        assert got == j1
    # The enterprise's people read its operating organisation (Art. 5(3)); a Qingdao official does not.
    parent_staff = who("applicant", organization_id=j1.organization_id, city_code=JINAN)
    assert (
        await organizations.get_organization(uow, actor=parent_staff, organization_id=j1_op.organization_id)
    ).parent_organization_id == j1.organization_id
    strangers = [
        who("applicant", organization_id="org_other", city_code=JINAN),
        who("city_finance", city_code=QINGDAO),
    ]
    for actor in strangers:
        for org_id in (j1.organization_id, j1_op.organization_id):
            with pytest.raises(NotFound) as e:
                await organizations.get_organization(uow, actor=actor, organization_id=org_id)
            assert e.value.reason == "ORGANIZATION_NOT_FOUND"  # as for a missing one
    with pytest.raises(NotFound) as missing:
        await organizations.get_organization(uow, actor=OPERATOR, organization_id="org_nope")
    assert missing.value.reason == "ORGANIZATION_NOT_FOUND"


async def test_eligibility_is_checked_only_for_an_organisation_the_caller_may_see(uow):
    j1 = await enterprise(uow, "370102", 1, "济南甲")
    as_of = date(2026, 5, 1)
    own_city = who("city_industry", city_code=JINAN)
    failures = await registry.check_eligibility(
        uow, actor=own_city, organization_id=j1.organization_id, as_of=as_of
    )
    assert [f.rule for f in failures] == ["green_threshold"]
    await registry.record_green(uow, uscc_code=j1.uscc, meets=True, as_of=as_of, source="省发改委")
    assert (
        await registry.check_eligibility(uow, actor=PROVINCE, organization_id=j1.organization_id, as_of=as_of)
        == []
    )
    # Neither another city nor the operator or an expert (unlike GetOrganization).
    for actor in (who("city_industry", city_code=QINGDAO), OPERATOR, who("expert")):
        with pytest.raises(NotFound):
            await registry.check_eligibility(
                uow, actor=actor, organization_id=j1.organization_id, as_of=as_of
            )


async def test_a_user_is_read_by_self_the_operator_their_city_and_the_province_only(uow):
    j1 = await enterprise(uow, "370102", 1, "济南甲")
    cipher = PlainCipher()
    profile, enrolment = await users.create_user(
        uow,
        cipher,
        username="appl",
        display_name="申报人",
        password="a-long-password-1",
        roles=["applicant"],
        organization_id=j1.organization_id,
        city_code="",
        phone="13812345678",
        now=NOW,
    )
    assert enrolment is None
    assert profile.city_code == JINAN
    assert profile.phone == "138****5678"
    self_ = who("applicant", user_id=profile.user_id, organization_id=j1.organization_id, city_code=JINAN)
    for actor in (self_, OPERATOR, who("city_finance", city_code=JINAN), PROVINCE, who("party_group")):
        assert await users.get_user(uow, cipher, actor=actor, user_id=profile.user_id) == profile
    colleague = who("applicant", user_id="usr_other", organization_id=j1.organization_id, city_code=JINAN)
    for actor in (colleague, who("city_industry", city_code=QINGDAO), who("expert")):
        with pytest.raises(NotFound) as e:
            await users.get_user(uow, cipher, actor=actor, user_id=profile.user_id)
        assert e.value.reason == "USER_NOT_FOUND"


async def test_city_officials_list_their_own_city_whatever_they_ask(uow):
    for serial, division in enumerate(("370102", "370103", "370212"), start=1):
        await enterprise(uow, division, serial, f"企业{serial}")
    everything = PageRequest(size=100)

    async def cities(actor: Principal, asked: str) -> list[str]:
        page = await organizations.list_organizations(
            uow, actor=actor, kind=None, city_code=asked, uscc_code="", page=everything
        )
        return [o.city_code for o in page.items]

    qd = who("city_industry", city_code=QINGDAO)
    assert await cities(qd, JINAN) == [QINGDAO]
    assert await cities(qd, "") == [QINGDAO]
    assert sorted(await cities(PROVINCE, "")) == [JINAN, JINAN, QINGDAO]
    assert await cities(OPERATOR, JINAN) == [JINAN, JINAN]


async def test_organisations_page_in_name_order_with_every_filter_kept(uow):
    made = [await enterprise(uow, "370102" if i % 3 else "370212", i, f"企业{i:03d}") for i in range(1, 24)]
    jinan = sorted((o for o in made if o.city_code == JINAN), key=lambda o: o.name)
    seen, after = [], None
    while True:
        page = await organizations.list_organizations(
            uow,
            actor=PROVINCE,
            kind=OrganizationKind.ENTERPRISE,
            city_code=JINAN,
            uscc_code="",
            page=PageRequest(size=4, after=after),
        )
        assert len(page.items) <= 4
        seen += page.items
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == jinan
    one = await organizations.list_organizations(
        uow, actor=PROVINCE, kind=None, city_code="", uscc_code=made[4].uscc, page=PageRequest(size=50)
    )
    assert one.items == [made[4]]
    assert one.next_cursor is None
    bureaus = await organizations.list_organizations(
        uow,
        actor=PROVINCE,
        kind=OrganizationKind.CITY_BUREAU,
        city_code="",
        uscc_code="",
        page=PageRequest(size=50),
    )
    assert bureaus.items == []


async def test_the_expert_pool_pages_with_each_experts_relations_and_the_field_filter(uow):
    org = await enterprise(uow, "370102", 1, "济南甲")
    cipher = PlainCipher()
    registered = []
    for i in range(7):
        profile, _ = await users.create_user(
            uow,
            cipher,
            username=f"expert{i}",
            display_name=f"专家{i}",
            password="a-long-password-1",
            roles=["expert"],
            organization_id="",
            city_code="",
            now=NOW,
        )
        relations = (
            [RelationIn(RelationKind.EMPLOYMENT, org.organization_id, date(2020, 1, 1), None)]
            if i % 2
            else []
        )
        registered.append(
            await experts.register_expert(
                uow,
                user_id=profile.user_id,
                fields=["ai", "manufacturing"] if i % 3 == 0 else ["ai"],
                employer_organization_id="",
                relations=relations,
            )
        )

    async def all_pages(field: str, size: int) -> list:
        out, after = [], None
        while True:
            page = await experts.list_experts(uow, field=field, page=PageRequest(size=size, after=after))
            out += page.items
            if page.next_cursor is None:
                return out
            after = page.next_cursor

    by_id = sorted(registered, key=lambda x: x.expert.user_id)
    assert await all_pages("", 3) == by_id
    assert await all_pages("manufacturing", 2) == [x for x in by_id if "manufacturing" in x.expert.fields]
    assert await all_pages("law", 2) == []
    assert {len(x.relations) for x in by_id} == {0, 1}


def test_jurisdictions_page_like_any_list():
    pages, after = [], None
    while True:
        page = organizations.list_jurisdictions(PageRequest(size=5, after=after))
        pages.append([j.code for j in page.items])
        if page.next_cursor is None:
            break
        after = page.next_cursor
    codes = [c for p in pages for c in p]
    assert codes[0] == "370000"
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes)) == 17
    assert [len(p) for p in pages] == [5, 5, 5, 2]
