"""Expert panels (Art. 9): the recorded, reproducible draw from identity's expert pool, the experts'
conflict-of-interest declarations (a recusal draws a replacement) and access to the application's
materials, which an assigned expert gets only after declaring no conflict.

Per-object rules here: an expert sees and acts on their own assignments only (another expert's
assignment is indistinguishable from a missing one); province roles, auditors and the workflow may
list anyone's."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import replace
from datetime import date, datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import beijing_date
from aicc.platform.errors import FailedPrecondition, not_found, present, wrong_phase
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.review.domain import panels
from services.review.domain.compliance import compliant_candidates, review_cycle
from services.review.domain.model import (
    Assignment,
    AssignmentStatus,
    AssignmentView,
    Candidate,
    DrawView,
    Exclusion,
    MaterialsView,
    Phase,
    ReviewCycle,
    few,
)
from services.review.domain.ports import ExpertRegistry, ReviewRepository, ReviewUnitOfWork

log = logging.getLogger("aicc.review")

PENDING = AssignmentStatus.PENDING_DECLARATION
ACCEPTED = AssignmentStatus.ACCEPTED
RECUSED = AssignmentStatus.RECUSED


def party(c: Candidate) -> panels.Party:
    return panels.Party(c.application_id, c.organization_id, c.operator_organization_id)


async def enterprise_names(repo: ReviewRepository, cycle_id: str) -> dict[str, str]:
    return {c.application_id: c.enterprise_name for c in await repo.candidates(cycle_id)}


async def _draw_view(repo: ReviewRepository, cycle: ReviewCycle) -> DrawView:
    names = await enterprise_names(repo, cycle.cycle_id)
    return DrawView(
        [AssignmentView(a, names.get(a.application_id, "")) for a in await repo.assignments(cycle.cycle_id)],
        await repo.exclusions(cycle.cycle_id),
        int(cycle.seed or 0),
    )


async def _check_drawable(repo: ReviewRepository, cycle: ReviewCycle) -> None:
    """Panels may be drawn now: compliance review, every application decided."""
    if cycle.phase != Phase.COMPLIANCE_REVIEW:
        raise wrong_phase("DrawPanels", cycle.phase, Phase.COMPLIANCE_REVIEW, "抽取专家")
    decided = {r.application_id for r in await repo.compliance_reviews(cycle.cycle_id)}
    undecided = [
        c.application_id for c in await repo.candidates(cycle.cycle_id) if c.application_id not in decided
    ]
    if undecided:
        raise FailedPrecondition(
            f"compliance review is not finished: no decision yet for {few(undecided)}",
            f"合规性审核尚未完成：以下申报尚无结论 {few(undecided)}",
            reason="COMPLIANCE_REVIEW_UNFINISHED",
            metadata={"applications": few(undecided)},
        )


async def draw_panels(
    uow: ReviewUnitOfWork, registry: ExpertRegistry, *, cycle_id: str, seed: int, now: datetime
) -> DrawView:
    """Draws a panel for every compliant candidate from identity's expert pool, records the seed,
    the pool and every exclusion; the review moves to EXPERT_REVIEW. A second call returns the
    recorded draw (and does not ask identity again). ``seed`` 0: a random one, recorded."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        if cycle.seed is not None:
            return await _draw_view(repo, cycle)
        await _check_drawable(repo, cycle)
    # The pool is fetched between two transactions: no lock is held across a remote call.
    pool = await registry.experts()
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        if cycle.seed is not None:  # drawn meanwhile
            return await _draw_view(repo, cycle)
        await _check_drawable(repo, cycle)
        return await _draw(repo, cycle, seed=seed or secrets.randbits(62) + 1, pool=pool, now=now)


async def _draw(
    repo: ReviewRepository, cycle: ReviewCycle, *, seed: int, pool: list[panels.ExpertProfile], now: datetime
) -> DrawView:
    policy = cycle.policy()
    on = beijing_date(now)
    candidates = await compliant_candidates(repo, cycle.cycle_id)
    try:
        draw = panels.draw_panels(
            pool,
            [party(c) for c in candidates],
            size=policy.panel.size,
            max_load=policy.panel.max_load_per_expert,
            on=on,
            lookback_years=policy.panel.conflict_lookback_years,
            seed=seed,
        )
    except panels.NotEnoughExperts as e:
        raise FailedPrecondition(
            f"no eligible expert left for application {e.application_id} "
            "(every expert in the pool has a conflict or has reached the load cap)",
            f"申报 {e.application_id} 无可选专家（专家库中的专家均需回避或已达评审上限）",
            reason="NOT_ENOUGH_EXPERTS",
            metadata={"application_id": e.application_id},
        ) from None
    await repo.add_assignments(
        [
            Assignment(
                assignment_id=new_id("asg"),
                cycle_id=cycle.cycle_id,
                application_id=app,
                expert_user_id=expert,
                status=PENDING,
                seq=i,
                created_at=now,
            )
            for i, (app, expert) in enumerate(draw.assignments)
        ]
    )
    await repo.add_exclusions(
        [
            Exclusion(cycle.cycle_id, x.application_id, x.expert_user_id, x.reason, now)
            for x in draw.exclusions
        ]
    )
    for app, n in sorted(draw.short_panels.items()):
        log.warning(
            "cycle %s: application %s has a panel of %d (policy: %d); too few eligible experts",
            cycle.cycle_id,
            app,
            n,
            policy.panel.size,
        )
    drawn = replace(
        cycle,
        seed=seed,
        drawn_at=now,
        draw_date=on.isoformat(),
        pool_json=[e.to_jsonable() for e in pool],
        short_panels=dict(draw.short_panels),
        phase=Phase.EXPERT_REVIEW,
    )
    await repo.save_cycle(drawn)
    return await _draw_view(repo, drawn)


async def get_draw(uow: ReviewUnitOfWork, *, cycle_id: str) -> DrawView:
    """The recorded draw for the province and auditors; refused before panels are drawn."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        if cycle.seed is None:
            raise wrong_phase("GetPanelDraw", cycle.phase, Phase.EXPERT_REVIEW, "查看专家抽取记录")
        return await _draw_view(repo, cycle)


def can_list_any(p: Principal) -> bool:
    return p.has(authz.PROVINCE_INDUSTRY, authz.PROVINCE_FINANCE, authz.AUDITOR, authz.SYSTEM)


async def list_assignments(
    uow: ReviewUnitOfWork, p: Principal, *, cycle_id: str, expert_user_id: str, page: PageRequest
) -> Page[AssignmentView]:
    """One page of assignments (by cycle, then draw order). An expert sees only their own, whatever
    ``expert_user_id`` asks for."""
    if not can_list_any(p):
        expert_user_id = p.user_id
    async with uow() as repo:
        found = await repo.assignments_page(
            cycle_id=cycle_id or None, expert_user_id=expert_user_id or None, page=page
        )
        names: dict[str, dict[str, str]] = {}
        out = []
        for a in found.items:
            if a.cycle_id not in names:
                names[a.cycle_id] = await enterprise_names(repo, a.cycle_id)
            out.append(AssignmentView(a, names[a.cycle_id].get(a.application_id, "")))
        return Page(out, found.next_cursor)


async def own_assignment(repo: ReviewRepository, p: Principal, assignment_id: str) -> Assignment:
    a = await repo.assignment(assignment_id)
    # Another expert's assignment is indistinguishable from a missing one.
    if a is None or a.expert_user_id != p.user_id:
        raise not_found("assignment", assignment_id, "评审任务")
    return a


async def declare_conflict(
    uow: ReviewUnitOfWork,
    p: Principal,
    *,
    assignment_id: str,
    has_conflict: bool,
    statement: str,
    now: datetime,
) -> tuple[AssignmentView, AssignmentView | None]:
    """No conflict → ACCEPTED (may score). A conflict → RECUSED, recorded as "self_declared", and
    a replacement drawn reproducibly (seed + recusal number); None when nobody eligible is left."""
    async with uow() as repo:
        a = await own_assignment(repo, p, assignment_id)
        cycle = await review_cycle(repo, a.cycle_id, lock=True)
        if cycle.phase != Phase.EXPERT_REVIEW:
            raise wrong_phase("DeclareConflict", cycle.phase, Phase.EXPERT_REVIEW, "声明利益冲突")
        if a.status != PENDING:
            raise FailedPrecondition(
                f"assignment {assignment_id} is {a.status}; a declaration is made once, before scoring",
                f"评审任务 {assignment_id} 状态为 {a.status}，回避声明只能在评分前作出一次",
                reason="ALREADY_DECLARED",
                metadata={"status": a.status},
            )
        name = (await enterprise_names(repo, cycle.cycle_id)).get(a.application_id, "")
        a.statement = statement
        a.declared_at = now
        if not has_conflict:
            a.status = ACCEPTED
            await repo.save_assignment(a)
            return AssignmentView(a, name), None

        a.status = RECUSED
        await repo.save_assignment(a)
        cycle.recusals = (cycle.recusals or 0) + 1
        await repo.add_exclusions(
            [Exclusion(cycle.cycle_id, a.application_id, a.expert_user_id, panels.SELF_DECLARED, now)]
        )
        replacement = await _replace(repo, cycle, a, now=now)
        await repo.save_cycle(cycle)
        return AssignmentView(a, name), (AssignmentView(replacement, name) if replacement else None)


async def _replace(
    repo: ReviewRepository, cycle: ReviewCycle, a: Assignment, *, now: datetime
) -> Assignment | None:
    """Draws the replacement of a recused expert (recorded), or records the smaller panel."""
    policy = cycle.policy()
    all_rows = await repo.assignments(cycle.cycle_id)
    load = Counter(r.expert_user_id for r in all_rows if r.status != RECUSED)
    candidate = await repo.candidate(cycle.cycle_id, a.application_id)
    candidate = present(candidate, "candidate")
    replacement_id = panels.draw_replacement(
        [panels.ExpertProfile.from_jsonable(e) for e in cycle.pool_json or []],
        party(candidate),
        already_on_application=[r.expert_user_id for r in all_rows if r.application_id == a.application_id],
        load=load,
        max_load=policy.panel.max_load_per_expert,
        on=date.fromisoformat(cycle.draw_date) if cycle.draw_date else beijing_date(now),
        lookback_years=policy.panel.conflict_lookback_years,
        seed=int(cycle.seed or 0),
        recusal_number=cycle.recusals,
    )
    if replacement_id is None:
        short = dict(cycle.short_panels or {})
        short[a.application_id] = sum(
            1 for r in all_rows if r.application_id == a.application_id and r.status != RECUSED
        )
        cycle.short_panels = short
        return None
    replacement = Assignment(
        assignment_id=new_id("asg"),
        cycle_id=cycle.cycle_id,
        application_id=a.application_id,
        expert_user_id=replacement_id,
        status=PENDING,
        seq=max((r.seq for r in all_rows), default=-1) + 1,
        created_at=now,
        replaces_assignment_id=a.assignment_id,
    )
    await repo.add_assignments([replacement])
    return replacement


async def assignment_materials(uow: ReviewUnitOfWork, p: Principal, *, assignment_id: str) -> MaterialsView:
    """The application's materials for its assigned expert, once they have declared no conflict
    (Art. 9: 专家须先声明无利益冲突方可查阅申报材料). Another expert's assignment is NOT_FOUND; a
    pending declaration or a recusal is refused."""
    async with uow() as repo:
        a = await own_assignment(repo, p, assignment_id)
        if a.status == PENDING:
            raise FailedPrecondition(
                "declare no conflict first: the application's materials are shown only after the "
                "conflict-of-interest declaration",
                "请先声明无利益冲突后再查阅申报材料",
                reason="DECLARATION_REQUIRED",
                metadata={"status": a.status},
            )
        if a.status == RECUSED:
            raise FailedPrecondition(
                "the expert recused from this application and may not see its materials",
                "专家已回避该申报，不得查阅申报材料",
                reason="RECUSED",
                metadata={"status": a.status},
            )
        c = await repo.candidate(a.cycle_id, a.application_id)
        if c is None:  # pragma: no cover - an assignment is drawn for a stored candidate
            raise not_found("application", a.application_id, "申报")
        return MaterialsView(
            application_id=c.application_id,
            enterprise_name=c.enterprise_name,
            title=c.title or "",
            materials=list(c.materials),
        )
