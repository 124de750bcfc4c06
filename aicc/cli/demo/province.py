"""The demo province: its cities, enterprises, experts and officials, seeded through the
services' own RPCs, and the sessions the demo acts with."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.intake.v1 import intake_pb2 as inpb
from aicc.platform.clients import open_channel, static_token, stub_for
from aicc.platform.money import format_wan_yuan
from aicc.platform.settings import Settings
from aicc.review.v1 import review_pb2 as rpb
from services.identity.domain import second_factor
from services.identity.domain.uscc import make_uscc

CITIES = {"370100": "济南市", "370200": "青岛市", "370600": "烟台市"}
# (name, city, division, quality 0..1 that drives the experts' scores, story)
ENTERPRISES = [
    ("浪潮智算工业AI有限公司", "370100", "370102", 0.96, ""),
    ("齐鲁工业大模型科技有限公司", "370100", "370112", 0.86, ""),
    ("泉城智能制造服务有限公司", "370100", "370104", 0.78, "not_recommended"),
    ("海尔卡奥斯AI赋能有限公司", "370200", "370212", 0.95, ""),
    ("青岛港智能体科技有限公司", "370200", "370211", 0.84, ""),
    ("青岛工业语料治理有限公司", "370200", "370203", 0.74, ""),
    ("烟台万华智造AI有限公司", "370600", "370602", 0.93, ""),
    ("烟台海洋装备智算有限公司", "370600", "370613", 0.82, "non_compliant"),
    ("烟台信用瑕疵科技有限公司", "370600", "370611", 0.90, "dishonest"),
    ("胶东半岛AI能力中心有限公司", "370600", "370687", 0.88, ""),
]
# Newcomers of the years after the first: every enterprise applies again, those awarded before are
# refused (Art. 11, one-time award), so a later year funds these; one of them has a serious
# dishonesty record dated in the first year, which the three-year look-back still sees.
NEWCOMERS = [
    ("泉城算力工业互联网有限公司", "370100", "370105", 0.94, ""),
    ("济南明湖智能体科技有限公司", "370100", "370103", 0.85, ""),
    ("青岛蓝谷工业智能有限公司", "370200", "370214", 0.92, ""),
    ("李沧工业数据服务有限公司", "370200", "370213", 0.83, ""),
    ("烟台芝罘工业模型有限公司", "370600", "370602", 0.87, ""),
    ("福山智造数据科技有限公司", "370600", "370611", 0.91, "dishonest"),
]
ALL_ENTERPRISES = ENTERPRISES + NEWCOMERS
# Serious dishonesty records (严重失信) of the registry: enterprise → (start date, document number).
CREDIT_RECORDS = {
    "烟台信用瑕疵科技有限公司": ("2025-03-01", "鲁信失〔2025〕37号"),
    "福山智造数据科技有限公司": ("2026-06-18", "鲁信失〔2026〕52号"),
}


def applicant_of(name: str) -> str:
    """The demo account of an enterprise's applicant."""
    return f"applicant{[n for n, *_rest in ALL_ENTERPRISES].index(name) + 1:02d}"


EXPERTS = [
    ("zhang.wei", "张伟", "山东大学", ["ai", "manufacturing"]),
    ("li.na", "李娜", "中国海洋大学", ["ai", "data"]),
    ("wang.qiang", "王强", "山东科技大学", ["compute"]),
    ("liu.yang", "刘洋", "齐鲁工业大学", ["security"]),
    ("chen.jing", "陈静", "青岛大学", ["ai"]),
    ("zhao.lei", "赵磊", "烟台大学", ["manufacturing"]),
    ("sun.li", "孙丽", "山东财经大学", ["finance"]),
    ("zhou.min", "周敏", "山东师范大学", ["ai"]),
]
PHASE_ZH = {
    "PUBLISHED": "发布申报通知",
    "APPLYING": "企业申报",
    "CITY_REVIEW": "市级审核推荐",
    "COMPLIANCE_REVIEW": "省级合规性审核",
    "EXPERT_REVIEW": "专家评审",
    "PROPOSAL": "拟支持名单",
    "FINANCE_CONCURRENCE": "财政厅会签",
    "PARTY_GROUP_APPROVAL": "党组会审议",
    "PUBLICITY": "公示",
    "ANNOUNCED": "发文公布",
    "DISBURSING": "资金拨付",
    "SUPERVISING": "绩效监管",
    "CLOSED": "年度结束",
}
TIER_ZH = {rpb.TIER_EXCELLENT: "卓越级 excellent", rpb.TIER_ADVANCED: "先进级 advanced", rpb.TIER_NONE: "—"}


def say(msg: str) -> None:
    print(msg, flush=True)


@dataclass
class Session:
    username: str
    token: str
    user: ipb.User
    expires_at: datetime | None = None
    _stubs: dict = field(default_factory=dict)


class Demo:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.password = self._demo_password()
        self.sessions: dict[str, Session] = {}
        self.channels: list = []
        self.orgs: dict[str, ipb.Organization] = {}
        self.operators: dict[str, ipb.Organization] = {}
        self.totp_path = settings.data_dir / "secrets" / "demo-totp.json"
        self.totp = json.loads(self.totp_path.read_text()) if self.totp_path.exists() else {}
        self.totp.setdefault("secrets", {})
        self.totp.setdefault("last_step", {})

    def _save_totp(self) -> None:
        self.totp_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.totp_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.totp, f, indent=1, sort_keys=True)
        os.replace(tmp, self.totp_path)

    def _totp_secret(self, username: str) -> str | None:
        for role, admin in self.settings.admin_usernames().items():
            if username == admin:
                path = self._admin_secrets() / f"{role}-totp"
                return second_factor.read_secret_file(path) if path.exists() else None
        return self.totp["secrets"].get(username)

    async def _totp_code(self, username: str) -> str:
        """A code of a time step this demo has not used for the user yet (the next step's code is
        accepted too; beyond that, wait for the clock)."""
        secret = self._totp_secret(username)
        if not secret:
            return ""
        while True:
            now = second_factor.step_at(datetime.now(UTC))
            step = max(now, self.totp["last_step"].get(username, now - 1) + 1)
            if step <= now + 1:
                self.totp["last_step"][username] = step
                self._save_totp()
                return second_factor.code_at_step(secret, step)
            await asyncio.sleep(1)

    def _demo_password(self) -> str:
        from aicc.platform.secrets import dev_secret

        return dev_secret(self.settings.data_dir, "demo-password") + "-Aa1"

    def _admin_secrets(self) -> Path:
        """AICC_BOOTSTRAP_ADMINS_DIR, else where `aicc up` (dev mode) generated them."""
        s = self.settings
        return Path(s.bootstrap_admins_dir) if s.bootstrap_admins_dir else s.data_dir / "secrets"

    def admin_password(self, role: str) -> str:
        """A bootstrap administrator's password (AICC_BOOTSTRAP_ADMINS_DIR, or `aicc up`'s dev secrets)."""
        path = self._admin_secrets() / f"{role}-password"
        if not path.exists():
            raise SystemExit(
                f"no {role} credentials: set AICC_BOOTSTRAP_ADMINS_DIR or run against `aicc up` ({path})"
            )
        return path.read_text().strip()

    def stub(self, who: str, service: str):
        sess = self.sessions[who]
        if service not in sess._stubs:
            ch = open_channel(self.settings.address(service), static_token(sess.token))
            self.channels.append(ch)
            sess._stubs[service] = stub_for(service, ch)
        return sess._stubs[service]

    async def login(self, username: str, password: str | None = None) -> Session:
        current = self.sessions.get(username)
        if current and current.expires_at and current.expires_at - datetime.now(UTC) > timedelta(minutes=5):
            return current  # one login per user: an official's code may not be used twice
        ch = open_channel(self.settings.address("identity"))
        try:
            from aicc.identity.v1 import identity_pb2_grpc

            resp = await identity_pb2_grpc.IdentityServiceStub(ch).Login(
                ipb.LoginRequest(
                    username=username,
                    password=password or self.password,
                    totp_code=await self._totp_code(username),
                ),
                timeout=15,
            )
        finally:
            await ch.close(None)
        s = Session(username, resp.access_token, resp.user, resp.expires_at.ToDatetime(tzinfo=UTC))
        self.sessions[username] = s
        return s

    async def open_appropriation(self, fiscal_year: int, cycle_budget_fen: int) -> None:
        """Province finance opens the year's appropriation (预算指标) unless it is open; room for
        three demo cycles of the year."""
        await self.login("sd.finance")
        finance = self.stub("sd.finance", "funding")
        try:
            await finance.GetAppropriation(fpb.GetAppropriationRequest(fiscal_year=fiscal_year))
            return
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
        amount = 3 * cycle_budget_fen
        await finance.OpenAppropriation(
            fpb.OpenAppropriationRequest(
                fiscal_year=fiscal_year,
                budget_document_no=f"鲁财工指〔{fiscal_year}〕15号",
                amount_fen=amount,
                performance_targets="支持约15家工业领域AI能力中心，带动服务企业不少于500家",
            )
        )
        say(f"  province finance opened the {fiscal_year} appropriation: {format_wan_yuan(amount)} 万元")

    async def cycles(self) -> list[inpb.Cycle]:
        """Every cycle of the instance, page by page."""
        out: list[inpb.Cycle] = []
        token = ""
        while True:
            page = await self.stub("sd.industry", "intake").ListCycles(
                inpb.ListCyclesRequest(page_size=500, page_token=token)
            )
            out.extend(page.cycles)
            token = page.next_page_token
            if not token:
                return out

    async def close(self) -> None:
        for ch in self.channels:
            await ch.close()

    # ------------------------------------------------------------------ seeding

    async def _org(
        self,
        uscc: str,
        name: str,
        kind: ipb.OrganizationKind.ValueType,
        *,
        legal_person=True,
        parent="",
        city="",
    ) -> ipb.Organization:
        idn = self.stub("sysadmin", "identity")
        found = (await idn.ListOrganizations(ipb.ListOrganizationsRequest(uscc=uscc))).organizations
        if found:
            return found[0]
        return (
            await idn.CreateOrganization(
                ipb.CreateOrganizationRequest(
                    uscc=uscc,
                    name=name,
                    kind=kind,
                    legal_person=legal_person,
                    parent_organization_id=parent,
                    city_code=city,
                )
            )
        ).organization

    async def _user(self, username: str, name: str, roles: list[str], org: str = "", city: str = "") -> None:
        try:
            resp = await self.stub("secadmin", "identity").CreateUser(
                ipb.CreateUserRequest(
                    username=username,
                    display_name=name,
                    password=self.password,
                    roles=roles,
                    organization_id=org,
                    city_code=city,
                )
            )
            if resp.totp_secret:  # returned once: keep it to compute this official's codes
                self.totp["secrets"][username] = resp.totp_secret
                self.totp["last_step"].pop(username, None)
                self._save_totp()
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise

    async def seed(self) -> None:
        # 三员分立: the system administrator registers organisations, the security administrator
        # creates accounts (the audit administrator only reads the audit trail).
        names = self.settings.admin_usernames()
        self.sessions["sysadmin"] = await self.login(
            names["system_admin"], self.admin_password("system_admin")
        )
        self.sessions["secadmin"] = await self.login(
            names["security_admin"], self.admin_password("security_admin")
        )
        province = await self._org(
            make_uscc("370000", 11, authority="1", category="1"),
            "山东省工业和信息化厅",
            ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
            city="370000",
        )
        finance = await self._org(
            make_uscc("370000", 12, authority="1", category="1"),
            "山东省财政厅",
            ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT,
            city="370000",
        )
        await self._user(
            "sd.industry", "省工信厅 王处长", ["province_industry"], province.organization_id, "370000"
        )
        await self._user(
            "sd.finance", "省财政厅 李处长", ["province_finance"], finance.organization_id, "370000"
        )
        await self._user(
            "sd.partygroup", "厅党组会 记录人", ["party_group"], province.organization_id, "370000"
        )
        await self._user("sd.auditor", "省审计厅 审计员", ["auditor"], "", "370000")
        for i, (code, city) in enumerate(CITIES.items()):
            ind = await self._org(
                make_uscc(code, 100 + i, authority="1", category="1"),
                f"{city}工业和信息化局",
                ipb.ORGANIZATION_KIND_CITY_BUREAU,
            )
            fin = await self._org(
                make_uscc(code, 200 + i, authority="1", category="1"),
                f"{city}财政局",
                ipb.ORGANIZATION_KIND_CITY_BUREAU,
            )
            await self._user(
                f"{code}.industry", f"{city}工信局", ["city_industry"], ind.organization_id, code
            )
            await self._user(f"{code}.finance", f"{city}财政局", ["city_finance"], fin.organization_id, code)
        for i, (name, _city, division, _q, _story) in enumerate(ALL_ENTERPRISES):
            org = await self._org(make_uscc(division, 1000 + i), name, ipb.ORGANIZATION_KIND_ENTERPRISE)
            op = await self._org(
                make_uscc(division, 5000 + i),
                f"{name}运营中心",
                ipb.ORGANIZATION_KIND_OPERATOR_ORG,
                parent=org.organization_id,
            )
            self.orgs[name], self.operators[name] = org, op
            await self._user(applicant_of(name), f"{name} 申报专员", ["applicant"], org.organization_id)
        # Art. 5 registry facts: every enterprise meets the green threshold; two have serious dishonesty records.
        await self.login("sd.industry")
        idn = self.stub("sd.industry", "identity")
        green = ["uscc,meets,as_of,source"] + [
            f"{o.uscc},true,2026-01-01,省发展改革委绿色门槛名单" for o in self.orgs.values()
        ]
        await idn.ImportRegistryRecords(
            ipb.ImportRegistryRecordsRequest(
                kind=ipb.REGISTRY_KIND_GREEN_THRESHOLD, csv_text="\n".join(green)
            )
        )
        for name, (start_date, reference) in CREDIT_RECORDS.items():
            try:
                await idn.RecordCreditRecord(
                    ipb.RecordCreditRecordRequest(
                        uscc=self.orgs[name].uscc,
                        severity="serious_dishonesty",
                        start_date=start_date,
                        source="信用中国（山东）",
                        reference=reference,
                    )
                )
            except grpc.aio.AioRpcError:
                pass  # recorded by an earlier run
        for i, (username, name, employer, fields) in enumerate(EXPERTS):
            emp = await self._org(
                make_uscc("370102", 8000 + i, authority="1", category="2"),
                employer,
                ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER,
            )
            await self._user(username, f"专家 {name}", ["expert"], "", "370000")
            sess = await self.login(username)
            try:
                employment = [
                    ipb.EmploymentRecord(organization_id=emp.organization_id, start_date="2015-09-01")
                ]
                if i == 0:  # a conflict the panel draw must exclude: consulted for an applicant last year
                    consulting = [
                        ipb.ConsultingEngagement(
                            organization_id=self.orgs[ENTERPRISES[0][0]].organization_id,
                            start_date="2025-01-01",
                            end_date="2025-12-31",
                        )
                    ]
                else:
                    consulting = []
                await self.stub("sd.industry", "identity").RegisterExpert(
                    ipb.RegisterExpertRequest(
                        user_id=sess.user.user_id,
                        fields=fields,
                        employer_organization_id=emp.organization_id,
                        employment=employment,
                        consulting=consulting,
                    )
                )
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        say(
            f"  seeded: {len(CITIES)} cities, {len(ALL_ENTERPRISES)} enterprises, {len(EXPERTS)} experts, officials of each city and of the province"
        )


# ---------------------------------------------------------------------- the year
