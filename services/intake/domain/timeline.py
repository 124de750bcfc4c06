"""An application's history as its applicant reads it: every status it moved to, when, and why, in
Chinese (Art. 8–13: the applicant is told each outcome — eligibility, the city's recommendation,
compliance with its reasons, the proposal and the award in 万元, payment or its refusal).

The history is kept, never rewritten: :func:`move` appends a step and changes the current status in
the same unit of work, and does nothing when the application is already there with the same note
(a retried activity records nothing twice)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aicc.platform.money import format_wan_yuan
from services.intake.domain.model import (
    Application,
    ApplicationStatus,
    BureauOpinion,
    EligibilityFailure,
    ProposalLine,
    StatusChange,
)
from services.intake.domain.ports import IntakeRepository

BUREAU_ZH = {"city_industry": "市工信局", "city_finance": "市财政局"}
TIER_ZH = {"excellent": "卓越级", "advanced": "先进级"}


def first_step(application_id: str, status: ApplicationStatus, at: datetime, note: str) -> StatusChange:
    return StatusChange(application_id, 1, status, at, note)


def step(app: Application, status: ApplicationStatus, *, at: datetime, note: str) -> StatusChange | None:
    """The application moved to ``status`` with one more step of its history (in memory; the
    caller stores it); None when it is there already with the same note."""
    last = app.timeline[-1] if app.timeline else None
    if app.status == status and last is not None and last.status == status and last.note == note:
        return None
    change = StatusChange(app.application_id, (last.seq if last else 0) + 1, status, at, note)
    app.status = status
    app.timeline.append(change)
    return change


async def move(
    repo: IntakeRepository, app: Application, status: ApplicationStatus, *, at: datetime, note: str
) -> bool:
    """Moves the application to ``status`` and stores it with its new step; False (nothing stored)
    when it is there already with the same note."""
    change = step(app, status, at=at, note=note)
    if change is None:
        return False
    await repo.save_application(app)
    await repo.add_status_change(app.cycle_id, change)
    return True


# ---------------------------------------------------------------- notes (Chinese, for the applicant)

DRAFTED = "创建申报（草稿）"


def submitted_note(failures: Iterable[EligibilityFailure]) -> str:
    """SUBMITTED (eligible), with any finding shown to the reviewers."""
    flags = [f.message_zh or f.message for f in failures if f.flag_only]
    note = "提交申报，资格审查通过"
    return f"{note}（提示：{'；'.join(flags)}）" if flags else note


def ineligible_note(failures: Iterable[EligibilityFailure]) -> str:
    reasons = [f"{f.message_zh or f.message}（{f.article}）" for f in failures if not f.flag_only]
    return "资格审查未通过：" + "；".join(reasons)


def recommendation_note(recommended: bool, document_no: str, opinions: Iterable[BureauOpinion]) -> str:
    head = "获市工信局、市财政局联合推荐" if recommended else "未获市级推荐"
    said = "；".join(f"{BUREAU_ZH.get(o.role, o.role)}意见：{o.opinion}" for o in opinions if o.opinion)
    return f"{head}（文号 {document_no}）" + (f"。{said}" if said else "")


def compliance_note(compliant: bool, reasons: Iterable[str]) -> str:
    if compliant:
        return "省级合规性审核通过"
    listed = "；".join(r.strip() for r in reasons if r.strip())
    return "省级合规性审核未通过：" + (listed or "未说明理由")


def proposal_note(line: ProposalLine, version: int) -> str:
    if line.funded:
        tier = TIER_ZH.get(line.tier, "")
        return f"列入拟支持名单（第 {version} 版{'，' + tier if tier else ''}），拟奖补 {format_wan_yuan(line.amount_fen)} 万元"
    if line.reserve:
        return f"列为备选（第 {version} 版，排名第 {line.rank} 位）"
    return f"经专家评审，未列入拟支持名单（第 {version} 版）"


def awarded_note(line: ProposalLine, document_no: str) -> str:
    where = f"（{document_no}）" if document_no else ""
    return f"经公示后发文公布{where}，奖补 {format_wan_yuan(line.amount_fen)} 万元"


def paid_note(amount_fen: int, treasury_reference: str) -> str:
    ref = f"（国库支付凭证 {treasury_reference}）" if treasury_reference else ""
    return f"奖补资金 {format_wan_yuan(amount_fen)} 万元已拨付{ref}"


def payment_refused_note(amount_fen: int, failure: str) -> str:
    return f"奖补资金 {format_wan_yuan(amount_fen)} 万元拨付未成功，国库拒绝支付：{failure or '未说明原因'}"
