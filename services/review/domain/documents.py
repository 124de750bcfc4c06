"""The official documents of a cycle (Art. 10), assembled from review's records:

- the proposal (拟支持名单及资金分配建议) of any version, every line with its reason;
- the publicity notice (公示) of a publicised version: period, where published, the listed lines;
- the announcement (公布) with its document number (文号) and the announced lines.

Each has a total row, the issuing bodies (the policy's ``publication``) and its date, and becomes a
PDF or an xlsx file (:mod:`.export_files`). Reasons are written for officials: Chinese, amounts in
万元, experts by name — never by internal id (:func:`official_reason`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aicc.platform.clock import SHANGHAI
from aicc.platform.errors import not_found
from aicc.platform.jurisdictions import city_name
from aicc.platform.money import fen_to_wan_yuan, format_wan_yuan
from aicc.platform.policy import Policy
from services.review.domain.compliance import review_cycle
from services.review.domain.export_files import AMOUNT_FORMAT, Column, OfficialDocument
from services.review.domain.model import Announcement, Proposal, ProposalBasis, PublicityNotice, is_funded
from services.review.domain.ports import ReviewUnitOfWork
from services.review.domain.proposals import UNNAMED_EXPERT, find_proposal, is_listed
from services.review.domain.publicity import find_announcement, find_notice

Line = Mapping[str, Any]
NO_TIER = "—"
PROPOSAL_TITLE = "拟支持名单及资金分配建议"


class DocumentKind(StrEnum):
    PROPOSAL = "proposal"
    PUBLICITY_NOTICE = "publicity-notice"
    ANNOUNCEMENT = "announcement"


def _local(t: datetime) -> datetime:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(SHANGHAI)


def chinese_date(t: datetime) -> str:
    """2026年9月1日 (Beijing)."""
    d = _local(t)
    return f"{d.year}年{d.month}月{d.day}日"


def programme(policy: Policy) -> str:
    """The programme's name from the policy's title, without "管理办法及实施细则" and the like."""
    name = re.sub(r"(（[^）]*）)$", "", policy.title)
    name = re.sub(r"(管理办法)?(及)?(实施细则)?$", "", name)
    return name or policy.title


# ------------------------------------------------------------------------------ reasons


@dataclass(frozen=True)
class ReasonContext:
    """What an official reason cites from the policy and the whole list."""

    tiers: Mapping[str, tuple[str, Decimal]]  # key -> (name, min score)
    dimensions: Mapping[str, str]  # dimension -> name
    quota: int
    reserve_causes: Mapping[str, tuple[int, str]]  # application -> (reserve place, cause)

    @classmethod
    def of(cls, policy: Policy, lines: Sequence[Line]) -> ReasonContext:
        causes: dict[str, tuple[int, str]] = {}
        funded = 0
        for x in lines:
            if x.get("reserve"):
                cause = f"名额（{policy.quota} 个）已满" if funded >= policy.quota else "剩余预算不足"
                causes[x["application_id"]] = (len(causes) + 1, cause)
            funded += 1 if is_funded(x) else 0
        return cls(
            tiers={t.key: (t.name, t.min_score) for t in policy.tiers},
            dimensions={d.dimension: d.name for d in policy.indicators},
            quota=policy.quota,
            reserve_causes=causes,
        )

    def lowest(self) -> tuple[str, Decimal]:
        return min(self.tiers.values(), key=lambda t: t[1])


def _tie(tie_break: str, ctx: ReasonContext) -> str:
    if tie_break.startswith("dimension:"):
        d = tie_break.split(":", 1)[1]
        return f"第{d}维度“{ctx.dimensions.get(d, d)}”得分"
    return {"submitted_at": "提交时间先后", "application_id": "申报编号顺序"}.get(tie_break, tie_break)


def _standing(x: Line, ctx: ReasonContext) -> str:
    tier = ctx.tiers.get(str(x.get("tier", "none")))
    if tier is None:
        name, floor = ctx.lowest()
        return f"未达到{name}分数线（{floor} 分）"
    return f"达到{tier[0]}（{tier[1]} 分及以上）"


def _award(x: Line, ctx: ReasonContext) -> str | None:
    cap = format_wan_yuan(int(x.get("cap_fen") or 0))
    if is_funded(x):
        return f"拟奖补 {format_wan_yuan(int(x['amount_fen']))} 万元（该等级最高 {cap} 万元）"
    if x["application_id"] in ctx.reserve_causes:
        place, cause = ctx.reserve_causes[x["application_id"]]
        return f"列为备选第 {place} 位（{cause}）"
    if x.get("revision_reason"):
        return "不予奖补"
    return None


def official_reason(x: Line, ctx: ReasonContext) -> str:
    """A line's reason as officials read it: score and rank, tier, award or reserve, ties, experts
    whose scores stood out (by name), and what officials or an objection changed."""
    parts = [f"综合得分 {x.get('final_score', '')} 分，排名第 {x.get('rank', '')} 位", _standing(x, ctx)]
    if x.get("tie_break"):
        parts.append(f"与相邻申报同分，按{_tie(str(x['tie_break']), ctx)}排序")
    award = _award(x, ctx)
    if award:
        parts.append(award)
    names = [n or UNNAMED_EXPERT for n in x.get("flagged_expert_names") or []]
    if names:
        parts.append(f"评审专家{'、'.join(names)}的评分与专家组均值偏差较大，已提示复核，不影响结果")
    if x.get("revision_reason"):
        parts.append(f"调整说明：{x['revision_reason']}")
    return "；".join(parts) + "。"


# ------------------------------------------------------------------------------ the documents


def _tier_name(x: Line, ctx: ReasonContext) -> str:
    tier = ctx.tiers.get(str(x.get("tier", "none")))
    return tier[0] if tier else NO_TIER


def _score(value: Any) -> Decimal | str:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return str(value or "")


def _wan(fen: int) -> Decimal:
    return fen_to_wan_yuan(fen)


_BASIS: dict[str, str] = {
    ProposalBasis.COMPUTED: "根据专家评分计算",
    ProposalBasis.REVISED: "经修改",
    ProposalBasis.OBJECTION_UPHELD: "因公示期间异议成立调整",
}

PROPOSAL_COLUMNS = (
    Column("排名", 6, None, 11, True),
    Column("申报单位", 34, None, 46),
    Column("统一社会信用代码", 22, None, 36),
    Column("城市", 10, None, 15),
    Column("最终得分", 10, "0.00", 15, True),
    Column("等级", 10, None, 14),
    Column("奖补上限（万元）", 14, AMOUNT_FORMAT, 18, True),
    Column("奖补金额（万元）", 16, AMOUNT_FORMAT, 18, True),
    Column("备选", 6, None, 10),
    Column("理由", 80, None, 84),
)


def proposal_document(policy: Policy, p: Proposal, generated_at: datetime) -> OfficialDocument:
    """The proposal of one version: every line (funded, reserve, without award) with its reason."""
    ctx = ReasonContext.of(policy, p.lines)
    rows = [
        [
            x.get("rank", 0),
            x.get("enterprise", ""),
            x.get("uscc", ""),
            city_name(x.get("city", "")),
            _score(x.get("final_score", "")),
            _tier_name(x, ctx),
            _wan(int(x.get("cap_fen") or 0)),
            _wan(int(x.get("amount_fen") or 0)),
            "是" if x.get("reserve") else "",
            official_reason(x, ctx),
        ]
        for x in p.lines
    ]
    funded = p.funded()
    basis = _BASIS.get(p.basis, p.basis)
    since = f"，在第 {p.previous_version} 版基础上{basis}" if p.previous_version else f"，{basis}"
    note = f"。修改说明：{p.note}" if p.note else ""
    return OfficialDocument(
        filename_stem=f"proposal-{p.cycle_id}-v{p.version}",
        title=PROPOSAL_TITLE,
        subtitle=policy.title,
        paragraphs=[
            f"根据《{policy.title}》，经城市推荐、省级合规性审核和专家评审，按综合得分排序、分级，"
            f"在预算总额内分配资金，形成本名单（第 {p.version} 版{since}）{note}。"
        ],
        facts=[
            ("评审周期", p.cycle_id),
            ("名单版本", f"v{p.version}"),
            ("预算总额（万元）", format_wan_yuan(p.budget_fen)),
            ("拟分配金额（万元）", format_wan_yuan(p.allocated_fen)),
            ("拟支持", f"{len(funded)} 家（名额 {policy.quota} 个）"),
            ("生成时间", _local(generated_at).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"),
        ],
        columns=PROPOSAL_COLUMNS,
        rows=rows,
        total=[None, "合计", "", "", None, f"拟支持 {len(funded)} 家", None, _wan(p.allocated_fen), "", ""],
        issued_on=chinese_date(p.created_at),
        landscape=True,
        sheet_title="拟支持名单",
        footer_label=f"{p.cycle_id} v{p.version}",
        issuer=policy.publication.issuing_body,
        co_issuer=policy.publication.co_issuer,
    )


LIST_COLUMNS = (
    Column("序号", 6, None, 12, True),
    Column("申报单位", 34, None, 52),
    Column("统一社会信用代码", 22, None, 40),
    Column("城市", 10, None, 18),
    Column("等级", 10, None, 16),
)


def _year(t: datetime) -> int:
    return _local(t).year


def notice_document(
    policy: Policy, p: Proposal, notice: PublicityNotice, generated_at: datetime
) -> OfficialDocument:
    """The publicity notice (公示) of the publicised version: the listed lines (awards, then the
    reserves in rank order), the period and where it is published."""
    ctx = ReasonContext.of(policy, p.lines)
    listed = [x for x in p.lines if is_listed(x)]
    listed = [x for x in listed if is_funded(x)] + [x for x in listed if not is_funded(x)]
    starts = notice.starts_at or generated_at
    period = f"{chinese_date(starts)}至{chinese_date(notice.ends_at)}"
    rows = [
        [
            i,
            x.get("enterprise", ""),
            x.get("uscc", ""),
            city_name(x.get("city", "")),
            _tier_name(x, ctx),
            _wan(int(x["amount_fen"])) if is_funded(x) else None,
            "拟支持" if is_funded(x) else "备选",
        ]
        for i, x in enumerate(listed, start=1)
    ]
    funded = p.funded()
    body = policy.publication.issuing_body
    return OfficialDocument(
        filename_stem=f"publicity-notice-{p.cycle_id}-v{p.version}",
        title=f"关于{_year(starts)}年度{programme(policy)}拟支持项目名单的公示",
        paragraphs=[
            f"根据《{policy.title}》，经城市推荐、省级合规性审核、专家评审，商省财政厅同意并经厅党组会审议，"
            f"现将拟支持项目名单（第 {p.version} 版）予以公示。",
            f"公示期：{period}。公示地点：{notice.published_where}。",
            f"公示期间，对公示项目有异议的，请以实名书面形式向{body}提出，写明联系方式并提供必要的证明材料；"
            "匿名异议不予受理。",
        ],
        facts=[("评审周期", p.cycle_id), ("名单版本", f"v{p.version}"), ("公示期", period)],
        columns=[
            *LIST_COLUMNS,
            Column("拟奖补金额（万元）", 16, AMOUNT_FORMAT, 22, True),
            Column("类别", 8, None, 14),
        ],
        rows=rows,
        total=[None, "合计", "", "", f"拟支持 {len(funded)} 家", _wan(p.allocated_fen), ""],
        issued_on=chinese_date(starts),
        sheet_title="公示名单",
        footer_label=f"{p.cycle_id} v{p.version}",
        issuer=policy.publication.issuing_body,
        co_issuer=policy.publication.co_issuer,
    )


def announcement_document(
    policy: Policy, a: Announcement, notice: PublicityNotice | None
) -> OfficialDocument:
    """The announcement (公布) with its 文号: the announced lines as they were announced."""
    ctx = ReasonContext.of(policy, a.lines)
    rows = [
        [
            i,
            x.get("enterprise", ""),
            x.get("uscc", ""),
            city_name(x.get("city", "")),
            _tier_name(x, ctx),
            _wan(int(x["amount_fen"])),
        ]
        for i, x in enumerate(a.lines, start=1)
    ]
    total = sum(int(x["amount_fen"]) for x in a.lines)
    publicised = ""
    if notice is not None and notice.starts_at is not None:
        publicised = f"（公示期{chinese_date(notice.starts_at)}至{chinese_date(notice.ends_at)}）"
    return OfficialDocument(
        filename_stem=f"announcement-{a.cycle_id}-v{a.proposal_version}",
        title=f"关于公布{_year(a.announced_at)}年度{programme(policy)}支持项目名单的通知",
        document_no=a.document_no,
        paragraphs=[
            "各市工业和信息化主管部门、财政局：",
            f"根据《{policy.title}》，经专家评审、省财政厅同意、厅党组会审议，并经公示无异议{publicised}，"
            f"现将支持项目名单（共 {len(a.lines)} 项，奖补资金 {format_wan_yuan(total)} 万元）予以公布，"
            "省财政按程序下达资金。",
            "获支持单位应严格按照规定专款专用，按要求报送绩效目标完成情况和资金使用情况。",
        ],
        facts=[("文号", a.document_no), ("评审周期", a.cycle_id), ("名单版本", f"v{a.proposal_version}")],
        columns=[*LIST_COLUMNS, Column("奖补金额（万元）", 16, AMOUNT_FORMAT, 22, True)],
        rows=rows,
        total=[None, "合计", "", "", f"{len(a.lines)} 项", _wan(total)],
        issued_on=chinese_date(a.announced_at),
        sheet_title="支持名单",
        footer_label=a.document_no,
        issuer=policy.publication.issuing_body,
        co_issuer=policy.publication.co_issuer,
    )


# ------------------------------------------------------------------------------ the use case


@dataclass(frozen=True)
class Document:
    kind: DocumentKind
    version: int  # the proposal version it shows
    content: OfficialDocument


async def document(
    uow: ReviewUnitOfWork, *, kind: DocumentKind, cycle_id: str, version: int, generated_at: datetime
) -> Document:
    """An official document of a cycle. ``version`` 0 = the latest proposal, the latest notice, the
    announcement; otherwise that proposal version, the notice of that version, or the announcement
    only when it announced that version. NOT_FOUND for what does not exist (yet)."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        policy = cycle.policy()
        if kind == DocumentKind.PROPOSAL:
            p = await find_proposal(repo, cycle_id=cycle_id, version=version)
            return Document(kind, p.version, proposal_document(policy, p, generated_at))
        if kind == DocumentKind.PUBLICITY_NOTICE:
            notice = await find_notice(repo, cycle_id=cycle_id, version=version)
            p = await find_proposal(repo, cycle_id=cycle_id, version=notice.proposal_version)
            return Document(kind, p.version, notice_document(policy, p, notice, generated_at))
        a = await find_announcement(repo, cycle_id)
        if version not in (0, a.proposal_version):
            raise not_found("announcement", f"{cycle_id} v{version}", "发文公布")
        publicised = await repo.notice(cycle_id, a.proposal_version)
        return Document(kind, a.proposal_version, announcement_document(policy, a, publicised))
