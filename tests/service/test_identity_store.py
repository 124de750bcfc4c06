"""Identity's repository on PostgreSQL and SQLite alike: keyset pages and the expert field filter (a
JSON array: ``jsonb @>`` on PostgreSQL, ``json_each`` on SQLite) answer the same."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aicc.cli.registry import migrate
from aicc.platform.db import Database
from aicc.platform.pagination import PageRequest
from services.identity.domain.model import (
    Expert,
    ExpertRelation,
    Organization,
    OrganizationKind,
    RelationKind,
    User,
)
from services.identity.domain.uscc import make_uscc
from services.identity.store import IdentityStore
from tests.support.pg import Databases, server_url

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db(request, tmp_path):
    dbs = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'identity.db'}"
    else:
        dbs = Databases(server_url(), ["identity"])
        url = dbs.urls["identity"]
    migrate("identity", url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()
        if dbs is not None:
            dbs.close()


async def _pages(list_page, size: int) -> list:
    out, after = [], None
    while True:
        page = await list_page(PageRequest(size=size, after=after))
        out += page.items
        if page.next_cursor is None:
            return out
        after = page.next_cursor


async def test_pages_and_the_expert_field_filter(db):
    async with db.transaction() as s:
        store = IdentityStore(s)
        for i in range(9):
            await store.add_organization(
                Organization(
                    organization_id=f"org_{i}",
                    uscc=make_uscc("370102", i + 1),
                    name="同名企业" if i < 4 else f"企业{i}",  # equal names: the id breaks the tie
                    kind=OrganizationKind.ENTERPRISE,
                    city_code="370100",
                    legal_person=True,
                    parent_organization_id=None,
                    created_at=NOW,
                )
            )
        for i in range(6):
            user_id = f"usr_{i}"
            await store.add_user(
                User(user_id, f"expert{i}", f"专家{i}", "x", ["expert"], None, "370000", created_at=NOW)
            )
            fields = ["人工智能", "manufacturing"] if i % 2 else ["人工智能"]
            await store.add_expert(Expert(user_id, fields, None))
            relation = ExpertRelation(user_id, RelationKind.CONSULTING, "org_1", date(2024, 1, 1), None)
            await store.add_relation(relation)
            assert relation.relation_id is not None  # the key the database assigned

    async with db.transaction() as s:
        store = IdentityStore(s)

        def orgs(page):
            return store.organizations(kind=None, city_code="370100", uscc=None, page=page)

        everything = (await orgs(PageRequest(size=50))).items
        same_name = [o.organization_id for o in everything if o.name == "同名企业"]
        assert same_name == ["org_0", "org_1", "org_2", "org_3"]
        assert await _pages(orgs, 3) == everything
        assert len(everything) == 9

        def pool(field):
            return lambda page: store.experts(field=field, page=page)

        all_experts = await _pages(pool(None), 4)
        assert [x.expert.user_id for x in all_experts] == [f"usr_{i}" for i in range(6)]
        assert all(x.relations[0].organization_id == "org_1" for x in all_experts)
        assert [x.display_name for x in await _pages(pool("manufacturing"), 2)] == ["专家1", "专家3", "专家5"]
        assert len(await _pages(pool("人工智能"), 5)) == 6
        assert await _pages(pool("人工"), 5) == []  # a whole field, not a substring
