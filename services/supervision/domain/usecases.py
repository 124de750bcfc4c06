"""Supervision use cases (Art. 14): performance targets per award, the recipient's monitoring
reports against them, and province industry's evaluation. No gRPC or SQL here."""

from __future__ import annotations

from dataclasses import dataclass

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import now_utc
from aicc.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    not_found,
)
from aicc.platform.ids import new_id
from services.supervision.store import (
    AwardRow,
    EvaluationRow,
    MonitoringReportRow,
    SupervisedCycleRow,
    SupervisionStore,
    TargetRow,
)

GRADES = ("excellent", "good", "pass", "fail")


@dataclass(frozen=True)
class Award:
    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str


@dataclass(frozen=True)
class Template:
    code: str
    description: str
    unit: str
    target_value: str


@dataclass(frozen=True)
class Value:
    target_id: str
    value: str


def _cycle_not_found(cycle_id: str):
    return not_found("supervised cycle", cycle_id, "监管年度")


def _award_not_found(cycle_id: str, application_id: str):
    return not_found("award", f"{cycle_id}/{application_id}", "获奖项目")


async def _require_cycle(store: SupervisionStore, cycle_id: str) -> list[AwardRow]:
    if await store.cycle(cycle_id) is None:
        raise _cycle_not_found(cycle_id)
    return await store.awards(cycle_id)


async def create_targets(
    store: SupervisionStore, *, cycle_id: str, awards: list[Award], templates: list[Template]
) -> list[TargetRow]:
    """One target per award × template. Idempotent: what exists already is kept and returned.
    A cycle without awards is registered too, so that its (empty) status can be asked for."""
    if await store.cycle(cycle_id) is None:
        await store.add(SupervisedCycleRow(cycle_id=cycle_id))
    for a in awards:
        row = await store.award(cycle_id, a.application_id)
        if row is None:
            await store.add(
                AwardRow(
                    cycle_id=cycle_id,
                    application_id=a.application_id,
                    organization_id=a.organization_id,
                    city_code=a.city_code,
                    amount_fen=a.amount_fen,
                )
            )
        elif (row.organization_id, row.city_code, row.amount_fen) != (
            a.organization_id,
            a.city_code,
            a.amount_fen,
        ):
            raise FailedPrecondition(
                f"award {a.application_id} is under supervision already with a different recipient or amount",
                f"获奖项目 {a.application_id} 已按不同的单位或金额纳入监管",
                reason="AWARD_CONFLICT",
            )
    out: list[TargetRow] = []
    for a in awards:
        existing = {t.code: t for t in await store.targets(cycle_id, a.application_id)}
        for t in templates:
            row = existing.get(t.code)
            if row is None:
                row = TargetRow(
                    target_id=new_id("tgt"),
                    cycle_id=cycle_id,
                    application_id=a.application_id,
                    organization_id=a.organization_id,
                    city_code=a.city_code,
                    code=t.code,
                    description=t.description,
                    unit=t.unit,
                    target_value=t.target_value,
                    reported_value="",
                )
                await store.add(row)
            out.append(row)
    return out


async def list_targets(
    store: SupervisionStore, p: Principal, *, cycle_id: str, application_id: str
) -> list[TargetRow]:
    """Applicants see their own organisation's targets, city officials their city's, the province all."""
    awards = await _require_cycle(store, cycle_id)
    visible = {
        a.application_id for a in awards if authz.can_see_organization(p, a.organization_id, a.city_code)
    }
    if application_id:
        if application_id not in visible:  # another's award looks like a missing one
            raise _award_not_found(cycle_id, application_id)
        return await store.targets(cycle_id, application_id)
    return [t for t in await store.targets(cycle_id) if t.application_id in visible]


async def submit_report(
    store: SupervisionStore,
    p: Principal,
    *,
    cycle_id: str,
    application_id: str,
    values: list[Value],
    narrative: str,
) -> MonitoringReportRow:
    await _require_cycle(store, cycle_id)
    award = await store.award(cycle_id, application_id)
    # Only the recipient itself reports; anybody else is told there is no such award.
    if award is None or not (p.has(authz.APPLICANT) and p.organization_id == award.organization_id):
        raise _award_not_found(cycle_id, application_id)
    targets = {t.target_id: t for t in await store.targets(cycle_id, application_id)}
    violations = [
        FieldViolation(
            f"values[{i}].target_id",
            f"{v.target_id!r} is not a performance target of award {application_id}",
            f"{v.target_id} 不是获奖项目 {application_id} 的绩效目标",
        )
        for i, v in enumerate(values)
        if v.target_id not in targets
    ]
    if violations:
        raise InvalidArgument(
            "request is invalid: " + "; ".join(f"{x.field}: {x.description}" for x in violations),
            "请求参数不合法：" + "；".join(f"{x.field}：{x.description_zh}" for x in violations),
            reason="INVALID_ARGUMENT",
            violations=violations,
        )
    row = MonitoringReportRow(
        report_id=new_id("rpt"),
        cycle_id=cycle_id,
        application_id=application_id,
        values=[{"target_id": v.target_id, "value": v.value} for v in values],
        narrative=narrative,
        submitted_by=p.user_id,
        submitted_at=now_utc(),
    )
    await store.add(row)
    for v in values:
        targets[v.target_id].reported_value = v.value
    return row


async def record_evaluation(
    store: SupervisionStore, p: Principal, *, cycle_id: str, application_id: str, grade: str, comments: str
) -> EvaluationRow:
    await _require_cycle(store, cycle_id)
    if await store.award(cycle_id, application_id) is None:
        raise _award_not_found(cycle_id, application_id)
    if await store.evaluation(cycle_id, application_id) is not None:
        raise AlreadyExists(
            f"award {application_id} has been evaluated already",
            f"获奖项目 {application_id} 已完成绩效评价",
            reason="EVALUATION_EXISTS",
        )
    if await store.report_count(cycle_id, application_id) == 0:
        raise FailedPrecondition(
            f"award {application_id} has no monitoring report yet; it cannot be evaluated",
            f"获奖项目 {application_id} 尚无绩效监控报告，不能评价",
            reason="NO_MONITORING_REPORT",
        )
    row = EvaluationRow(
        evaluation_id=new_id("evl"),
        cycle_id=cycle_id,
        application_id=application_id,
        grade=grade,
        comments=comments,
        evaluated_by=p.user_id,
        evaluated_at=now_utc(),
    )
    await store.add(row)
    return row


async def status(store: SupervisionStore, *, cycle_id: str) -> tuple[int, int, int]:
    await _require_cycle(store, cycle_id)
    return await store.status_counts(cycle_id)
