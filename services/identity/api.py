"""IdentityService: proto ⇄ domain only."""

from __future__ import annotations

from datetime import timedelta

from aicc.identity.v1 import identity_pb2 as pb
from aicc.identity.v1 import identity_pb2_grpc
from aicc.platform import authz, jurisdictions
from aicc.platform.auth import TokenSigner, principal
from aicc.platform.clock import now_utc
from aicc.platform.convert import ts
from aicc.platform.crypto import FieldCipher
from aicc.platform.errors import DomainError
from aicc.platform.server import Runtime
from aicc.platform.validation import Check
from services.identity.domain import accounts, personal, second_factor
from services.identity.store import IdentityStore

KIND_TO_PB = {
    "enterprise": pb.ORGANIZATION_KIND_ENTERPRISE,
    "operator_org": pb.ORGANIZATION_KIND_OPERATOR_ORG,
    "city_bureau": pb.ORGANIZATION_KIND_CITY_BUREAU,
    "provincial_department": pb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
    "expert_employer": pb.ORGANIZATION_KIND_EXPERT_EMPLOYER,
}
PB_TO_KIND = {v: k for k, v in KIND_TO_PB.items()}
RELATION_KINDS = ("employment", "shareholding", "consulting")


def org_pb(o) -> pb.Organization:
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


def user_pb(u, cipher: FieldCipher) -> pb.User:
    phone, id_number = accounts.masked_personal_data(u, cipher)  # masked: never in clear
    return pb.User(
        user_id=u.user_id,
        username=u.username,
        display_name=u.display_name,
        roles=list(u.roles),
        organization_id=u.organization_id or "",
        city_code=u.city_code,
        phone=phone,
        id_number=id_number,
    )


def expert_pb(e, u, relations) -> pb.Expert:
    iso = lambda d: d.isoformat() if d else ""  # noqa: E731
    return pb.Expert(
        user_id=e.user_id,
        display_name=u.display_name,
        fields=list(e.fields),
        employer_organization_id=e.employer_organization_id or "",
        employment=[
            pb.EmploymentRecord(
                organization_id=r.organization_id, start_date=iso(r.start_date), end_date=iso(r.end_date)
            )
            for r in relations
            if r.kind == "employment"
        ],
        shareholdings=[
            pb.Shareholding(organization_id=r.organization_id) for r in relations if r.kind == "shareholding"
        ],
        consulting=[
            pb.ConsultingEngagement(
                organization_id=r.organization_id, start_date=iso(r.start_date), end_date=iso(r.end_date)
            )
            for r in relations
            if r.kind == "consulting"
        ],
        active=e.active,
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, rt: Runtime, signer: TokenSigner, cipher: FieldCipher) -> None:
        self.rt = rt
        self.signer = signer
        self.cipher = cipher
        # Injectable for tests (the lockout and TOTP windows are time-based).
        self.clock = now_utc

    async def ListJurisdictions(self, request, context):
        return pb.ListJurisdictionsResponse(
            jurisdictions=[
                pb.Jurisdiction(code=j.code, name=j.name, name_en=j.name_en, level=j.level)
                for j in jurisdictions.load_jurisdictions()
            ]
        )

    async def CreateOrganization(self, request, context):
        v = Check()
        v.required("uscc", request.uscc)
        v.required("name", request.name) and v.max_length("name", request.name, 200)
        v.enum_set("kind", request.kind)
        v.done()
        async with self.rt.db.transaction() as s:
            row = await accounts.create_organization(
                IdentityStore(s),
                uscc_code=request.uscc,
                name=request.name,
                kind=PB_TO_KIND[request.kind],
                city_code=request.city_code,
                legal_person=request.legal_person,
                parent_organization_id=request.parent_organization_id,
            )
        return pb.CreateOrganizationResponse(organization=org_pb(row))

    async def GetOrganization(self, request, context):
        v = Check()
        v.identifier("organization_id", request.organization_id)
        v.done()
        async with self.rt.db.transaction() as s:
            row = await IdentityStore(s).organization(request.organization_id)
        p = principal()
        visible = row is not None and (
            authz.can_see_organization(p, row.organization_id, row.city_code)
            or p.has(authz.OPERATOR, authz.EXPERT)
            or (p.organization_id and row.parent_organization_id == p.organization_id)
        )
        if not visible:  # another organisation's record is indistinguishable from a missing one
            raise accounts.not_found("organization", request.organization_id, "单位")
        return pb.GetOrganizationResponse(organization=org_pb(row))

    async def ListOrganizations(self, request, context):
        p = principal()
        city = request.city_code
        if not authz.is_province_wide(p) and not p.has(authz.OPERATOR):
            city = p.city_code  # city officials see their own city only
        async with self.rt.db.transaction() as s:
            rows = await IdentityStore(s).organizations(
                kind=PB_TO_KIND.get(request.kind), city_code=city or None, uscc=request.uscc or None
            )
        return pb.ListOrganizationsResponse(organizations=[org_pb(r) for r in rows])

    async def UpdateOrganizationCity(self, request, context):
        v = Check()
        v.identifier("organization_id", request.organization_id)
        v.required("city_code", request.city_code)
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 1000)
        v.done()
        async with self.rt.db.transaction() as s:
            row = await accounts.update_organization_city(
                IdentityStore(s),
                organization_id=request.organization_id,
                city_code=request.city_code,
                reason=request.reason,
                corrected_by=principal().user_id,
            )
        return pb.UpdateOrganizationCityResponse(organization=org_pb(row))

    async def CreateUser(self, request, context):
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
        async with self.rt.db.transaction() as s:
            row, totp = await accounts.create_user(
                IdentityStore(s),
                self.cipher,
                username=request.username,
                display_name=request.display_name,
                password=request.password,
                roles=list(request.roles),
                organization_id=request.organization_id,
                city_code=request.city_code,
                phone=request.phone,
                id_number=request.id_number,
            )
        return pb.CreateUserResponse(
            user=user_pb(row, self.cipher),
            totp_secret=totp or "",
            totp_provisioning_uri=second_factor.provisioning_uri(totp, row.username) if totp else "",
        )

    async def ResetSecondFactor(self, request, context):
        v = Check()
        v.identifier("user_id", request.user_id)
        v.required("reason", request.reason) and v.max_length("reason", request.reason, 500)
        v.done()
        async with self.rt.db.transaction() as s:
            row, secret = await accounts.reset_second_factor(
                IdentityStore(s),
                self.cipher,
                user_id=request.user_id,
                reason=request.reason,
                reset_by=principal().user_id,
            )
        return pb.ResetSecondFactorResponse(
            totp_secret=secret, totp_provisioning_uri=second_factor.provisioning_uri(secret, row.username)
        )

    async def GetUser(self, request, context):
        v = Check()
        v.identifier("user_id", request.user_id)
        v.done()
        p = principal()
        async with self.rt.db.transaction() as s:
            row = await IdentityStore(s).user(request.user_id)
        # Self; the operator (account administration); province-wide readers; a city official only
        # for users of their own city. Not experts, not other cities (another's looks missing).
        if row is None or not (
            p.user_id == row.user_id or p.has(authz.OPERATOR) or authz.can_see_city(p, row.city_code)
        ):
            raise accounts.not_found("user", request.user_id, "用户")
        return pb.GetUserResponse(user=user_pb(row, self.cipher))

    async def Login(self, request, context):
        v = Check()
        v.required("username", request.username) and v.max_length("username", request.username, 128)
        v.required("password", request.password)
        v.done()
        self.signer.reload()  # a key added to (or removed from) the keys directory takes effect now
        s_ = self.rt.settings
        policy = accounts.LoginPolicy(
            max_failures=s_.login_max_failures, lockout=timedelta(minutes=s_.login_lockout_minutes)
        )
        async with self.rt.db.transaction() as s:
            outcome = await accounts.login(
                IdentityStore(s),
                self.signer,
                self.cipher,
                username=request.username,
                password=request.password,
                totp_code=request.totp_code,
                now=self.clock(),
                policy=policy,
            )
            if not isinstance(outcome, DomainError):
                token, exp, user = outcome
                user_msg = user_pb(user, self.cipher)
        if isinstance(outcome, DomainError):  # raised after the commit: the failure is counted
            raise outcome
        return pb.LoginResponse(access_token=token, expires_at=ts(exp), user=user_msg)

    async def GetPublicKeys(self, request, context):
        self.signer.reload()
        return pb.GetPublicKeysResponse(
            keys=[
                pb.PublicKey(kid=k, algorithm="EdDSA", public_key_pem=pem)
                for k, pem in self.signer.public_keys().items()
            ]
        )

    async def RegisterExpert(self, request, context):
        v = Check()
        v.identifier("user_id", request.user_id)
        v.required("fields", list(request.fields))
        relations = []
        for name, items in (("employment", request.employment), ("consulting", request.consulting)):
            for i, r in enumerate(items):
                v.identifier(f"{name}[{i}].organization_id", r.organization_id)
                start = v.iso_date(f"{name}[{i}].start_date", r.start_date)
                end = v.iso_date(f"{name}[{i}].end_date", r.end_date, required=False)
                relations.append(accounts.RelationIn(name, r.organization_id, start, end))
        for i, r in enumerate(request.shareholdings):
            v.identifier(f"shareholdings[{i}].organization_id", r.organization_id)
            relations.append(accounts.RelationIn("shareholding", r.organization_id, None, None))
        v.done()
        async with self.rt.db.transaction() as s:
            e, u, rels = await accounts.register_expert(
                IdentityStore(s),
                user_id=request.user_id,
                fields=list(request.fields),
                employer_organization_id=request.employer_organization_id,
                relations=relations,
            )
        return pb.RegisterExpertResponse(expert=expert_pb(e, u, rels))

    async def ListExperts(self, request, context):
        async with self.rt.db.transaction() as s:
            store = IdentityStore(s)
            out = []
            for e, u in await store.experts():
                if request.field and request.field not in e.fields:
                    continue
                out.append(expert_pb(e, u, await store.relations(e.user_id)))
        return pb.ListExpertsResponse(experts=out)

    async def RecordCreditRecord(self, request, context):
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
        async with self.rt.db.transaction() as s:
            await accounts.record_credit(
                IdentityStore(s),
                uscc_code=request.uscc,
                severity=request.severity,
                start=start,
                end=end,
                source=request.source,
                reference=request.reference,
            )
        return pb.RecordCreditRecordResponse()

    async def RecordGreenThreshold(self, request, context):
        v = Check()
        v.required("uscc", request.uscc)
        as_of = v.iso_date("as_of_date", request.as_of_date)
        v.required("source", request.source)
        v.done()
        async with self.rt.db.transaction() as s:
            await accounts.record_green(
                IdentityStore(s),
                uscc_code=request.uscc,
                meets=request.meets,
                as_of=as_of,
                source=request.source,
            )
        return pb.RecordGreenThresholdResponse()

    async def ImportRegistryRecords(self, request, context):
        v = Check()
        v.enum_set("kind", request.kind)
        v.required("csv_text", request.csv_text)
        v.done()
        async with self.rt.db.transaction() as s:
            n = await accounts.import_registry(
                IdentityStore(s),
                kind="credit" if request.kind == pb.REGISTRY_KIND_CREDIT else "green",
                csv_text=request.csv_text,
            )
        return pb.ImportRegistryRecordsResponse(imported=n)

    async def CheckEligibility(self, request, context):
        v = Check()
        v.identifier("organization_id", request.organization_id)
        as_of = v.iso_date("as_of_date", request.as_of_date)
        v.done()
        p = principal()
        async with self.rt.db.transaction() as s:
            store = IdentityStore(s)
            org = await store.organization(request.organization_id)
            if org is None or not (authz.can_see_organization(p, org.organization_id, org.city_code)):
                raise accounts.not_found("organization", request.organization_id, "单位")
            failures = await accounts.check_eligibility(
                store, organization_id=org.organization_id, as_of=as_of
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
