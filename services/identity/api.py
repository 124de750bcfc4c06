"""IdentityService: request validation and proto ⇄ domain only; the use cases (and who may see
which object) are in ``services/identity/domain``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import grpc

from aicc.identity.v1 import identity_pb2 as pb
from aicc.identity.v1 import identity_pb2_grpc
from aicc.platform import authz, jurisdictions
from aicc.platform.auth import principal
from aicc.platform.convert import ts
from aicc.platform.errors import present
from aicc.platform.pagination import PageRequest, PageTokens, page_size
from aicc.platform.peer import caller_source
from aicc.platform.ports import Clock, UnitOfWork
from aicc.platform.validation import Check
from services.identity.domain import eligibility, experts, login, organizations, personal, registry, users
from services.identity.domain.experts import RelationIn
from services.identity.domain.model import (
    ExpertProfile,
    Organization,
    OrganizationKind,
    RegistryKind,
    RelationKind,
    UserProfile,
)
from services.identity.domain.ports import Cipher, IdentityRepository, TokenIssuer

KIND_TO_PB = {
    OrganizationKind.ENTERPRISE: pb.ORGANIZATION_KIND_ENTERPRISE,
    OrganizationKind.OPERATOR_ORG: pb.ORGANIZATION_KIND_OPERATOR_ORG,
    OrganizationKind.CITY_BUREAU: pb.ORGANIZATION_KIND_CITY_BUREAU,
    OrganizationKind.PROVINCIAL_DEPARTMENT: pb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
    OrganizationKind.EXPERT_EMPLOYER: pb.ORGANIZATION_KIND_EXPERT_EMPLOYER,
}
PB_TO_KIND = {v: k for k, v in KIND_TO_PB.items()}
PB_TO_REGISTRY = {
    pb.REGISTRY_KIND_CREDIT: RegistryKind.CREDIT,
    pb.REGISTRY_KIND_GREEN_THRESHOLD: RegistryKind.GREEN,
}


def org_pb(o: Organization) -> pb.Organization:
    return pb.Organization(
        organization_id=o.organization_id,
        uscc=o.uscc,
        name=o.name,
        kind=KIND_TO_PB[o.kind],
        city_code=o.city_code,
        legal_person=o.legal_person,
        parent_organization_id=o.parent_organization_id or "",
        created_at=ts(o.created_at),
    )


def user_pb(u: UserProfile) -> pb.User:
    return pb.User(
        user_id=u.user_id,
        username=u.username,
        display_name=u.display_name,
        roles=u.roles,
        organization_id=u.organization_id,
        city_code=u.city_code,
        phone=u.phone,  # masked: never in clear
        id_number=u.id_number,
    )


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def expert_pb(x: ExpertProfile) -> pb.Expert:
    e, relations = x.expert, x.relations
    return pb.Expert(
        user_id=e.user_id,
        display_name=x.display_name,
        fields=list(e.fields),
        employer_organization_id=e.employer_organization_id or "",
        employment=[
            pb.EmploymentRecord(
                organization_id=r.organization_id, start_date=_iso(r.start_date), end_date=_iso(r.end_date)
            )
            for r in relations
            if r.kind == RelationKind.EMPLOYMENT
        ],
        shareholdings=[
            pb.Shareholding(organization_id=r.organization_id)
            for r in relations
            if r.kind == RelationKind.SHAREHOLDING
        ],
        consulting=[
            pb.ConsultingEngagement(
                organization_id=r.organization_id, start_date=_iso(r.start_date), end_date=_iso(r.end_date)
            )
            for r in relations
            if r.kind == RelationKind.CONSULTING
        ],
        active=e.active,
    )


def _eligibility_rules(v: Check, request: pb.CheckEligibilityRequest) -> eligibility.EligibilityRules:
    """The policy's eligibility section the caller sends; the province's defaults when it sends none."""
    if not request.HasField("rules"):
        return eligibility.PROVINCE_DEFAULTS
    r = request.rules
    years = r.serious_dishonesty_lookback_years
    if not 0 <= years <= eligibility.MAX_LOOKBACK_YEARS:
        n = eligibility.MAX_LOOKBACK_YEARS
        v.fail("rules.serious_dishonesty_lookback_years", f"must be 0 to {n} years", f"须为0至{n}年")
    if (
        v.required("rules.division_prefix", r.division_prefix)
        and jurisdictions.of_prefix(r.division_prefix) is None
    ):
        v.fail(
            "rules.division_prefix",
            "must be a GB/T 2260 division prefix of 2, 4 or 6 digits within Shandong, e.g. 37 or 3702",
            "须为山东省内2、4或6位行政区划代码前缀，如 37、3702",
        )
    return eligibility.EligibilityRules(
        require_legal_person=r.require_legal_person,
        require_green_threshold=r.require_green_threshold,
        serious_dishonesty_lookback_years=years,
        division_prefix=r.division_prefix,
    )


class _Period(Protocol):
    """An employment or a consulting engagement of an expert, as the request gives it."""

    organization_id: str
    start_date: str
    end_date: str


@dataclass(frozen=True)
class IdentityDeps:
    """What the servicer hands its use cases (built by ``service.IdentityApp``)."""

    uow: UnitOfWork[IdentityRepository]
    issuer: TokenIssuer
    cipher: Cipher
    page_tokens: PageTokens
    login_policy: login.LoginPolicy
    clock: Clock  # "now" (lockout and TOTP windows are time-based)
    # Peers whose x-forwarded-for names the login's source (aicc.platform.peer).
    trusted_proxies: frozenset[str] = frozenset()


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, deps: IdentityDeps) -> None:
        self.d = deps

    def _page(self, rpc: str, size: int, token: str, query: Mapping[str, object]) -> PageRequest:
        return self.d.page_tokens.read(
            token, caller=principal().user_id, rpc=rpc, query=query, size=page_size(size)
        )

    def _next(self, rpc: str, cursor: list[object] | None, query: Mapping[str, object]) -> str:
        return self.d.page_tokens.issue(cursor, caller=principal().user_id, rpc=rpc, query=query)

    async def ListJurisdictions(
        self, request: pb.ListJurisdictionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJurisdictionsResponse:
        query: dict[str, object] = {}
        page = organizations.list_jurisdictions(
            self._page("ListJurisdictions", request.page_size, request.page_token, query)
        )
        return pb.ListJurisdictionsResponse(
            jurisdictions=[
                pb.Jurisdiction(code=j.code, name=j.name, name_en=j.name_en, level=j.level)
                for j in page.items
            ],
            next_page_token=self._next("ListJurisdictions", page.next_cursor, query),
        )

    async def CreateOrganization(
        self, request: pb.CreateOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrganizationResponse:
        v = Check()
        v.required("uscc", request.uscc)
        v.required("name", request.name) and v.max_length("name", request.name, 200)
        v.enum_set("kind", request.kind, PB_TO_KIND)
        v.done()
        org = await organizations.create_organization(
            self.d.uow,
            uscc_code=request.uscc,
            name=request.name,
            kind=PB_TO_KIND[request.kind],
            city_code=request.city_code,
            legal_person=request.legal_person,
            parent_organization_id=request.parent_organization_id,
            now=self.d.clock(),
        )
        return pb.CreateOrganizationResponse(organization=org_pb(org))

    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetOrganizationResponse:
        v = Check()
        v.identifier("organization_id", request.organization_id)
        v.done()
        org = await organizations.get_organization(
            self.d.uow, actor=principal(), organization_id=request.organization_id
        )
        return pb.GetOrganizationResponse(organization=org_pb(org))

    async def ListOrganizations(
        self, request: pb.ListOrganizationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrganizationsResponse:
        query = {"kind": int(request.kind), "city_code": request.city_code, "uscc": request.uscc}
        page = await organizations.list_organizations(
            self.d.uow,
            actor=principal(),
            kind=PB_TO_KIND.get(request.kind),
            city_code=request.city_code,
            uscc_code=request.uscc,
            page=self._page("ListOrganizations", request.page_size, request.page_token, query),
        )
        return pb.ListOrganizationsResponse(
            organizations=[org_pb(o) for o in page.items],
            next_page_token=self._next("ListOrganizations", page.next_cursor, query),
        )

    async def UpdateOrganizationCity(
        self, request: pb.UpdateOrganizationCityRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateOrganizationCityResponse:
        v = Check()
        v.identifier("organization_id", request.organization_id)
        v.required("city_code", request.city_code)
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 1000)
        v.done()
        org = await organizations.update_organization_city(
            self.d.uow,
            actor=principal(),
            organization_id=request.organization_id,
            city_code=request.city_code,
            reason=request.reason,
            now=self.d.clock(),
        )
        return pb.UpdateOrganizationCityResponse(organization=org_pb(org))

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUserResponse:
        v = Check()
        v.identifier("username", request.username)
        v.required("display_name", request.display_name)
        if v.required("password", request.password) and len(request.password) < 12:
            v.fail("password", "must be at least 12 characters", "至少12个字符")
        if v.required("roles", list(request.roles)):
            for i, r in enumerate(request.roles):
                if r not in authz.ROLES - {authz.SYSTEM}:
                    v.fail(f"roles[{i}]", f"unknown role {r!r}", f"未知角色 {r}")
        # Personal data: checked without ever echoing the value.
        for name, value, check in (
            ("phone", request.phone, personal.phone_problem),
            ("id_number", request.id_number, personal.id_number_problem),
        ):
            problem = check(value) if value else None
            if problem:
                v.fail(name, *problem)
        v.done()
        user, enrolment = await users.create_user(
            self.d.uow,
            self.d.cipher,
            username=request.username,
            display_name=request.display_name,
            password=request.password,
            roles=list(request.roles),
            organization_id=request.organization_id,
            city_code=request.city_code,
            phone=request.phone,
            id_number=request.id_number,
            now=self.d.clock(),
        )
        return pb.CreateUserResponse(
            user=user_pb(user),
            totp_secret=enrolment.secret if enrolment else "",
            totp_provisioning_uri=enrolment.provisioning_uri if enrolment else "",
        )

    async def _change_role(self, request: pb.GrantRoleRequest | pb.RevokeRoleRequest, grant: bool) -> pb.User:
        v = Check()
        v.identifier("user_id", request.user_id)
        if v.required("role", request.role) and request.role not in authz.ROLES - {authz.SYSTEM}:
            v.fail("role", f"unknown role {request.role!r}", f"未知角色 {request.role}")
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 500)
        v.done()
        user = await users.change_role(
            self.d.uow,
            self.d.cipher,
            actor=principal(),
            user_id=request.user_id,
            role=request.role,
            grant=grant,
            reason=request.reason,
            now=self.d.clock(),
        )
        return user_pb(user)

    async def GrantRole(
        self, request: pb.GrantRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.GrantRoleResponse:
        return pb.GrantRoleResponse(user=await self._change_role(request, grant=True))

    async def RevokeRole(
        self, request: pb.RevokeRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeRoleResponse:
        return pb.RevokeRoleResponse(user=await self._change_role(request, grant=False))

    async def ResetSecondFactor(
        self, request: pb.ResetSecondFactorRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResetSecondFactorResponse:
        v = Check()
        v.identifier("user_id", request.user_id)
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 500)
        v.done()
        enrolment = await users.reset_second_factor(
            self.d.uow,
            self.d.cipher,
            actor=principal(),
            user_id=request.user_id,
            reason=request.reason,
            now=self.d.clock(),
        )
        return pb.ResetSecondFactorResponse(
            totp_secret=enrolment.secret, totp_provisioning_uri=enrolment.provisioning_uri
        )

    async def GetUser(
        self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUserResponse:
        v = Check()
        v.identifier("user_id", request.user_id)
        v.done()
        user = await users.get_user(self.d.uow, self.d.cipher, actor=principal(), user_id=request.user_id)
        return pb.GetUserResponse(user=user_pb(user))

    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        v = Check()
        v.required("username", request.username) and v.max_length("username", request.username, 128)
        v.required("password", request.password)
        v.done()
        session = await login.login(
            self.d.uow,
            self.d.issuer,
            self.d.cipher,
            username=request.username,
            password=request.password,
            totp_code=request.totp_code,
            now=self.d.clock(),
            policy=self.d.login_policy,
            source=caller_source(
                context.peer() or "",
                {k: str(v) for k, v in (context.invocation_metadata() or ())},
                self.d.trusted_proxies,
            ),
        )
        return pb.LoginResponse(
            access_token=session.access_token, expires_at=ts(session.expires_at), user=user_pb(session.user)
        )

    async def GetPublicKeys(
        self, request: pb.GetPublicKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPublicKeysResponse:
        return pb.GetPublicKeysResponse(
            keys=[
                pb.PublicKey(kid=k, algorithm="EdDSA", public_key_pem=pem)
                for k, pem in login.public_keys(self.d.issuer).items()
            ]
        )

    async def RegisterExpert(
        self, request: pb.RegisterExpertRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterExpertResponse:
        v = Check()
        v.identifier("user_id", request.user_id)
        v.required("fields", list(request.fields))
        relations = []
        periods: tuple[tuple[RelationKind, Sequence[_Period]], ...] = (
            (RelationKind.EMPLOYMENT, request.employment),
            (RelationKind.CONSULTING, request.consulting),
        )
        for kind, items in periods:
            for i, r in enumerate(items):
                v.identifier(f"{kind}[{i}].organization_id", r.organization_id)
                start = v.iso_date(f"{kind}[{i}].start_date", r.start_date)
                end = v.iso_date(f"{kind}[{i}].end_date", r.end_date, required=False)
                relations.append(RelationIn(kind, r.organization_id, start, end))
        for i, s in enumerate(request.shareholdings):
            v.identifier(f"shareholdings[{i}].organization_id", s.organization_id)
            relations.append(RelationIn(RelationKind.SHAREHOLDING, s.organization_id, None, None))
        v.done()
        expert = await experts.register_expert(
            self.d.uow,
            user_id=request.user_id,
            fields=list(request.fields),
            employer_organization_id=request.employer_organization_id,
            relations=relations,
        )
        return pb.RegisterExpertResponse(expert=expert_pb(expert))

    async def ListExperts(
        self, request: pb.ListExpertsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListExpertsResponse:
        query = {"field": request.field}
        page = await experts.list_experts(
            self.d.uow,
            field=request.field,
            page=self._page("ListExperts", request.page_size, request.page_token, query),
        )
        return pb.ListExpertsResponse(
            experts=[expert_pb(x) for x in page.items],
            next_page_token=self._next("ListExperts", page.next_cursor, query),
        )

    async def RecordCreditRecord(
        self, request: pb.RecordCreditRecordRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordCreditRecordResponse:
        v = Check()
        v.required("uscc", request.uscc)
        v.required("severity", request.severity)
        start = v.iso_date("start_date", request.start_date)
        end = v.iso_date("end_date", request.end_date, required=False)
        v.required("source", request.source)
        v.required("reference", request.reference)
        if start and end and end < start:
            v.fail("end_date", "must not be before start_date", "不得早于开始日期")
        v.done()
        await registry.record_credit(
            self.d.uow,
            uscc_code=request.uscc,
            severity=request.severity,
            start=present(start, "start_date"),
            end=end,
            source=request.source,
            reference=request.reference,
        )
        return pb.RecordCreditRecordResponse()

    async def RecordGreenThreshold(
        self, request: pb.RecordGreenThresholdRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordGreenThresholdResponse:
        v = Check()
        v.required("uscc", request.uscc)
        as_of = v.iso_date("as_of_date", request.as_of_date)
        v.required("source", request.source)
        v.done()
        await registry.record_green(
            self.d.uow,
            uscc_code=request.uscc,
            meets=request.meets,
            as_of=present(as_of, "as_of_date"),
            source=request.source,
        )
        return pb.RecordGreenThresholdResponse()

    async def ImportRegistryRecords(
        self, request: pb.ImportRegistryRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportRegistryRecordsResponse:
        v = Check()
        v.enum_set("kind", request.kind, PB_TO_REGISTRY)
        v.required("csv_text", request.csv_text)
        v.done()
        n = await registry.import_registry(
            self.d.uow,
            kind=PB_TO_REGISTRY[request.kind],
            csv_text=request.csv_text,
        )
        return pb.ImportRegistryRecordsResponse(imported=n)

    async def CheckEligibility(
        self, request: pb.CheckEligibilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckEligibilityResponse:
        v = Check()
        v.identifier("organization_id", request.organization_id)
        as_of = v.iso_date("as_of_date", request.as_of_date)
        rules = _eligibility_rules(v, request)
        v.done()
        failures = await registry.check_eligibility(
            self.d.uow,
            actor=principal(),
            organization_id=request.organization_id,
            as_of=present(as_of, "as_of_date"),
            rules=rules,
        )
        return pb.CheckEligibilityResponse(
            eligible=not failures,
            failures=[
                pb.EligibilityFailure(
                    rule=f.rule, article=f.article, message=f.message, message_zh=f.message_zh
                )
                for f in failures
            ],
        )
