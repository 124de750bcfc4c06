"""The expert pool: registering an expert with the relations conflict checks need (employment,
shareholding, consulting, with their periods), and the paged pool review draws panels from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aicc.platform import authz
from aicc.platform.errors import AlreadyExists
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.identity.domain.model import Expert, ExpertProfile, ExpertRelation, RelationKind, invalid_field
from services.identity.domain.organizations import organization_not_found
from services.identity.domain.ports import IdentityRepository
from services.identity.domain.users import user_not_found


@dataclass(frozen=True)
class RelationIn:
    kind: RelationKind
    organization_id: str
    start: date | None
    end: date | None


async def register_expert(
    uow: UnitOfWork[IdentityRepository],
    *,
    user_id: str,
    fields: list[str],
    employer_organization_id: str,
    relations: list[RelationIn],
) -> ExpertProfile:
    async with uow() as repo:
        user = await repo.user(user_id)
        if user is None:
            raise user_not_found(user_id)
        if authz.EXPERT not in user.roles:
            raise invalid_field("user_id", "the user does not have the expert role", "该用户不具有专家角色")
        if await repo.expert(user_id):
            raise AlreadyExists(
                f"expert {user_id} is registered", f"专家 {user_id} 已登记", reason="EXPERT_EXISTS"
            )
        for r in relations:
            if await repo.organization(r.organization_id) is None:
                raise organization_not_found(r.organization_id)
        expert = Expert(
            user_id=user_id,
            fields=fields,
            employer_organization_id=employer_organization_id or None,
            active=True,
        )
        await repo.add_expert(expert)
        stored = []
        for r in relations:
            relation = ExpertRelation(
                user_id=user_id,
                kind=r.kind,
                organization_id=r.organization_id,
                start_date=r.start,
                end_date=r.end,
            )
            await repo.add_relation(relation)
            stored.append(relation)
    return ExpertProfile(expert, user.display_name, stored)


async def list_experts(
    uow: UnitOfWork[IdentityRepository], *, field: str, page: PageRequest
) -> Page[ExpertProfile]:
    """The pool (who may list it is the RPC's rule: province industry, auditors, the workflow)."""
    async with uow() as repo:
        return await repo.experts(field=field or None, page=page)
