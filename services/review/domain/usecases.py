"""Review use cases (Art. 9-11): compliance review, panels and conflicts, score sheets, the
proposal, publicity and objections. No gRPC or SQL here; rows come from :mod:`services.review.store`.

The review of one cycle moves through its own phases::

    COMPLIANCE_REVIEW → EXPERT_REVIEW → PROPOSAL → PUBLICITY → ANNOUNCED

(finance concurrence and party-group approval happen between PROPOSAL and PUBLICITY in the cycle
workflow; the review service only keeps the proposal they approve). Every call the workflow makes
is idempotent: repeating it returns what the first call recorded.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI, now_utc
from aicc.platform.crypto import PREFIX as ENCRYPTED_PREFIX
from aicc.platform.crypto import DecryptionError, FieldCipher, mask_contact
from aicc.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, not_found, wrong_phase
from aicc.platform.ids import new_id
from aicc.platform.policy import Policy, PolicyError
from services.review.domain import export_files, panels, scoring
from services.review.store import (
    AssignmentRow,
    CandidateRow,
    ComplianceReviewRow,
    ExclusionRow,
    ObjectionRow,
    OnSiteReviewRow,
    ProposalRow,
    ReviewCycleRow,
    ReviewStore,
    ScoreSheetRow,
)

COMPLIANCE_REVIEW = "COMPLIANCE_REVIEW"
EXPERT_REVIEW = "EXPERT_REVIEW"
PROPOSAL = "PROPOSAL"
PUBLICITY = "PUBLICITY"
ANNOUNCED = "ANNOUNCED"
PHASES = (COMPLIANCE_REVIEW, EXPERT_REVIEW, PROPOSAL, PUBLICITY, ANNOUNCED)

PENDING = "PENDING_DECLARATION"
ACCEPTED = "ACCEPTED"
RECUSED = "RECUSED"
SCORED = "SCORED"

UNDER_INVESTIGATION = "UNDER_INVESTIGATION"
UPHELD = "UPHELD"
DISMISSED = "DISMISSED"

# On-site reviews (Art. 9)
DEFENCE = "DEFENCE"  # 现场答辩
SITE_VISIT = "SITE_VISIT"  # 现场核查
ON_SITE_KINDS = (DEFENCE, SITE_VISIT)
ON_SITE_PHASES = [COMPLIANCE_REVIEW, EXPERT_REVIEW]

log = logging.getLogger("aicc.review")
TWO_PLACES = Decimal("0.01")


# ------------------------------------------------------------------------------ inputs and views


@dataclass(frozen=True)
class MaterialIn:
    material_id: str
    kind: str
    filename: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class CandidateIn:
    application_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    submitted_at: datetime
    title: str = ""
    materials: tuple[MaterialIn, ...] = ()


@dataclass(frozen=True)
class DecisionIn:
    application_id: str
    compliant: bool
    reasons: list[str]
    decided_by: str
    decided_at: datetime | None


@dataclass(frozen=True)
class ScoreIn:
    indicator_id: str
    points: Decimal
    justification: str


@dataclass(frozen=True)
class AssignmentView:
    row: AssignmentRow
    enterprise_name: str


@dataclass(frozen=True)
class MaterialsView:
    application_id: str
    enterprise_name: str
    title: str
    materials: list[MaterialIn]


@dataclass(frozen=True)
class DrawView:
    assignments: list[AssignmentView]
    exclusions: list[ExclusionRow]
    seed: int


def _precondition(en: str, zh: str, reason: str, **metadata: str) -> FailedPrecondition:
    return FailedPrecondition(en, zh, reason=reason, metadata=metadata)


def _invalid(
    violations: list[FieldViolation], en: str = "request is invalid", zh: str = "请求参数不合法"
) -> InvalidArgument:
    return InvalidArgument(
        f"{en}: " + "; ".join(f"{v.field}: {v.description}" for v in violations),
        f"{zh}：" + "；".join(f"{v.field}：{v.description_zh or v.description}" for v in violations),
        reason="INVALID_ARGUMENT",
        violations=violations,
    )


def _few(items: list[str], limit: int = 10) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


async def _cycle(store: ReviewStore, cycle_id: str, *, lock: bool = False) -> ReviewCycleRow:
    c = await store.cycle(cycle_id, lock=lock)
    if c is None:
        raise not_found("review cycle", cycle_id, "评审周期")
    return c


def policy_of(cycle: ReviewCycleRow) -> Policy:
    return Policy.from_json(cycle.policy_json)


# ------------------------------------------------------------------------------------ open review


def parse_policy(policy_json: str) -> Policy:
    try:
        return Policy.from_json(policy_json)
    except (PolicyError, ValueError) as e:
        errors = getattr(e, "errors", None) or [("", str(e))]
        raise _invalid(
            [
                FieldViolation("policy_json", f"{p or '<policy>'}: {m}", f"{p or '<policy>'}：{m}")
                for p, m in errors
            ],
            "policy_json is not a valid policy",
            "政策快照无效",
        ) from None


async def open_review(
    store: ReviewStore, *, cycle_id: str, policy_json: str, candidates: list[CandidateIn]
) -> int:
    """Stores the cycle's policy snapshot and candidates. Repeating the call changes nothing."""
    parse_policy(policy_json)
    existing = await store.cycle(cycle_id, lock=True)
    if existing is not None:
        stored = {c.application_id for c in await store.candidates(cycle_id)}
        extra = sorted({c.application_id for c in candidates} - stored)
        if extra:
            raise _precondition(
                f"review of cycle {cycle_id} is already open with other candidates (not among them: {_few(extra)})",
                f"周期 {cycle_id} 的评审已开启，候选名单不同（未包含：{_few(extra)}）",
                "REVIEW_ALREADY_OPEN",
                cycle_id=cycle_id,
            )
        return len(stored)
    await store.add(
        ReviewCycleRow(cycle_id=cycle_id, policy_json=policy_json, phase=COMPLIANCE_REVIEW, recusals=0)
    )
    await store.add_all(
        [
            CandidateRow(
                cycle_id=cycle_id,
                application_id=c.application_id,
                organization_id=c.organization_id,
                operator_organization_id=c.operator_organization_id or "",
                enterprise_name=c.enterprise_name,
                city_code=c.city_code,
                submitted_at=c.submitted_at,
                title=c.title or "",
                materials=[asdict(m) for m in c.materials],
            )
            for c in candidates
        ]
    )
    return len(candidates)


# ------------------------------------------------------------------------------ compliance review


async def record_compliance(
    store: ReviewStore, *, cycle_id: str, decisions: list[DecisionIn]
) -> tuple[int, int]:
    """One decision per application; repeating an identical decision is a no-op. Returns
    (decided, remaining)."""
    cycle = await _cycle(store, cycle_id, lock=True)
    existing = {r.application_id: r for r in await store.compliance_reviews(cycle_id)}
    new_rows = []
    for d in decisions:
        if await store.candidate(cycle_id, d.application_id) is None:
            raise not_found("application", d.application_id, "申报")
        prior = existing.get(d.application_id)
        if prior is not None:
            if prior.compliant == d.compliant and list(prior.reasons) == list(d.reasons):
                continue
            raise _precondition(
                f"application {d.application_id} already has a compliance decision "
                f"({'compliant' if prior.compliant else 'not compliant'}, by {prior.decided_by}); it cannot be changed",
                f"申报 {d.application_id} 已有合规性审核结论（{'合规' if prior.compliant else '不合规'}），不得更改",
                "ALREADY_DECIDED",
                application_id=d.application_id,
            )
        if cycle.phase != COMPLIANCE_REVIEW:
            raise wrong_phase(
                "RecordComplianceDecisions", cycle.phase, COMPLIANCE_REVIEW, "记录合规性审核结论"
            )
        row = ComplianceReviewRow(
            cycle_id=cycle_id,
            application_id=d.application_id,
            compliant=d.compliant,
            reasons=list(d.reasons),
            decided_by=d.decided_by,
            decided_at=d.decided_at or now_utc(),
        )
        existing[d.application_id] = row
        new_rows.append(row)
    await store.add_all(new_rows)
    total = len(await store.candidates(cycle_id))
    return len(existing), total - len(existing)


async def compliance_reviews(store: ReviewStore, cycle_id: str) -> list[ComplianceReviewRow]:
    await _cycle(store, cycle_id)
    return await store.compliance_reviews(cycle_id)


async def _compliant_candidates(store: ReviewStore, cycle_id: str) -> list[CandidateRow]:
    ok = {r.application_id for r in await store.compliance_reviews(cycle_id) if r.compliant}
    return [c for c in await store.candidates(cycle_id) if c.application_id in ok]


def _party(c: CandidateRow) -> panels.Party:
    return panels.Party(c.application_id, c.organization_id, c.operator_organization_id)


# ------------------------------------------------------------------------------------------ panels


async def _names(store: ReviewStore, cycle_id: str) -> dict[str, str]:
    return {c.application_id: c.enterprise_name for c in await store.candidates(cycle_id)}


async def _draw_view(store: ReviewStore, cycle: ReviewCycleRow) -> DrawView:
    names = await _names(store, cycle.cycle_id)
    rows = await store.assignments(cycle.cycle_id)
    return DrawView(
        [AssignmentView(a, names.get(a.application_id, "")) for a in rows],
        await store.exclusions(cycle.cycle_id),
        int(cycle.seed or 0),
    )


async def existing_draw(store: ReviewStore, cycle_id: str) -> DrawView | None:
    """The recorded draw, or None when panels may be drawn now (phase and decisions checked)."""
    cycle = await _cycle(store, cycle_id)
    if cycle.seed is not None:
        return await _draw_view(store, cycle)
    if cycle.phase != COMPLIANCE_REVIEW:
        raise wrong_phase("DrawPanels", cycle.phase, COMPLIANCE_REVIEW, "抽取专家")
    decided = {r.application_id for r in await store.compliance_reviews(cycle_id)}
    undecided = [
        c.application_id for c in await store.candidates(cycle_id) if c.application_id not in decided
    ]
    if undecided:
        raise _precondition(
            f"compliance review is not finished: no decision yet for {_few(undecided)}",
            f"合规性审核尚未完成：以下申报尚无结论 {_few(undecided)}",
            "COMPLIANCE_REVIEW_UNFINISHED",
            applications=_few(undecided),
        )
    return None


async def get_draw(store: ReviewStore, cycle_id: str) -> DrawView:
    """The recorded draw for the province and auditors; refused before panels are drawn."""
    cycle = await _cycle(store, cycle_id)
    if cycle.seed is None:
        raise wrong_phase("GetPanelDraw", cycle.phase, EXPERT_REVIEW, "查看专家抽取记录")
    return await _draw_view(store, cycle)


async def draw_panels(
    store: ReviewStore,
    *,
    cycle_id: str,
    seed: int,
    pool: list[panels.ExpertProfile],
    now: datetime | None = None,
) -> DrawView:
    """Draws a panel for every compliant candidate, records the seed, the pool and every exclusion;
    the review moves to EXPERT_REVIEW. A second call returns the recorded draw."""
    await existing_draw(store, cycle_id)  # phase / decisions
    cycle = await _cycle(store, cycle_id, lock=True)
    if cycle.seed is not None:  # drawn meanwhile
        return await _draw_view(store, cycle)
    policy = policy_of(cycle)
    now = now or now_utc()
    on = now.astimezone(SHANGHAI).date()
    if not seed:
        seed = secrets.randbits(62) + 1
    candidates = await _compliant_candidates(store, cycle_id)
    try:
        draw = panels.draw_panels(
            pool,
            [_party(c) for c in candidates],
            size=policy.panel.size,
            max_load=policy.panel.max_load_per_expert,
            on=on,
            lookback_years=policy.panel.conflict_lookback_years,
            seed=seed,
        )
    except panels.NotEnoughExperts as e:
        raise _precondition(
            f"no eligible expert left for application {e.application_id} "
            "(every expert in the pool has a conflict or has reached the load cap)",
            f"申报 {e.application_id} 无可选专家（专家库中的专家均需回避或已达评审上限）",
            "NOT_ENOUGH_EXPERTS",
            application_id=e.application_id,
        ) from None
    await store.add_all(
        [
            AssignmentRow(
                assignment_id=new_id("asg"),
                cycle_id=cycle_id,
                application_id=app,
                expert_user_id=expert,
                status=PENDING,
                seq=i,
                statement="",
            )
            for i, (app, expert) in enumerate(draw.assignments)
        ]
        + [
            ExclusionRow(
                cycle_id=cycle_id,
                application_id=x.application_id,
                expert_user_id=x.expert_user_id,
                reason=x.reason,
            )
            for x in draw.exclusions
        ]
    )
    cycle.seed = seed
    cycle.drawn_at = now
    cycle.draw_date = on.isoformat()
    cycle.pool_json = [e.to_jsonable() for e in pool]
    cycle.short_panels = dict(draw.short_panels)
    for app, n in sorted(draw.short_panels.items()):
        log.warning(
            "cycle %s: application %s has a panel of %d (policy: %d); too few eligible experts",
            cycle_id,
            app,
            n,
            policy.panel.size,
        )
    cycle.phase = EXPERT_REVIEW
    await store.s.flush()
    return await _draw_view(store, cycle)


def _can_list_any(p: Principal) -> bool:
    return p.has(authz.PROVINCE_INDUSTRY, authz.PROVINCE_FINANCE, authz.AUDITOR, authz.SYSTEM)


async def list_assignments(
    store: ReviewStore, p: Principal, *, cycle_id: str, expert_user_id: str
) -> list[AssignmentView]:
    if not _can_list_any(p):
        expert_user_id = p.user_id  # an expert sees only their own
    rows = await store.assignments(cycle_id or None, expert_user_id or None)
    names: dict[str, dict[str, str]] = {}
    out = []
    for a in rows:
        if a.cycle_id not in names:
            names[a.cycle_id] = await _names(store, a.cycle_id)
        out.append(AssignmentView(a, names[a.cycle_id].get(a.application_id, "")))
    return out


async def _own_assignment(store: ReviewStore, p: Principal, assignment_id: str) -> AssignmentRow:
    a = await store.assignment(assignment_id)
    # Another expert's assignment is indistinguishable from a missing one.
    if a is None or a.expert_user_id != p.user_id:
        raise not_found("assignment", assignment_id, "评审任务")
    return a


async def declare_conflict(
    store: ReviewStore, p: Principal, *, assignment_id: str, has_conflict: bool, statement: str
) -> tuple[AssignmentView, AssignmentView | None]:
    """No conflict → ACCEPTED (may score). A conflict → RECUSED, recorded as "self_declared", and
    a replacement drawn reproducibly (seed + recusal number); None when nobody eligible is left."""
    a = await _own_assignment(store, p, assignment_id)
    cycle = await _cycle(store, a.cycle_id, lock=True)
    if cycle.phase != EXPERT_REVIEW:
        raise wrong_phase("DeclareConflict", cycle.phase, EXPERT_REVIEW, "声明利益冲突")
    if a.status != PENDING:
        raise _precondition(
            f"assignment {assignment_id} is {a.status}; a declaration is made once, before scoring",
            f"评审任务 {assignment_id} 状态为 {a.status}，回避声明只能在评分前作出一次",
            "ALREADY_DECLARED",
            status=a.status,
        )
    names = await _names(store, cycle.cycle_id)
    a.statement = statement
    a.declared_at = now_utc()
    if not has_conflict:
        a.status = ACCEPTED
        await store.s.flush()
        return AssignmentView(a, names.get(a.application_id, "")), None

    a.status = RECUSED
    cycle.recusals = (cycle.recusals or 0) + 1
    await store.add(
        ExclusionRow(
            cycle_id=cycle.cycle_id,
            application_id=a.application_id,
            expert_user_id=a.expert_user_id,
            reason=panels.SELF_DECLARED,
        )
    )
    policy = policy_of(cycle)
    all_rows = await store.assignments(cycle.cycle_id)
    load = Counter(r.expert_user_id for r in all_rows if r.status != RECUSED)
    candidate = await store.candidate(cycle.cycle_id, a.application_id)
    assert candidate is not None
    replacement_id = panels.draw_replacement(
        [panels.ExpertProfile.from_jsonable(e) for e in cycle.pool_json or []],
        _party(candidate),
        already_on_application=[r.expert_user_id for r in all_rows if r.application_id == a.application_id],
        load=load,
        max_load=policy.panel.max_load_per_expert,
        on=date.fromisoformat(cycle.draw_date) if cycle.draw_date else now_utc().astimezone(SHANGHAI).date(),
        lookback_years=policy.panel.conflict_lookback_years,
        seed=int(cycle.seed or 0),
        recusal_number=cycle.recusals,
    )
    replacement = None
    if replacement_id is not None:
        replacement = AssignmentRow(
            assignment_id=new_id("asg"),
            cycle_id=cycle.cycle_id,
            application_id=a.application_id,
            expert_user_id=replacement_id,
            status=PENDING,
            seq=max((r.seq for r in all_rows), default=-1) + 1,
            replaces_assignment_id=a.assignment_id,
            statement="",
        )
        await store.add(replacement)
    else:
        short = dict(cycle.short_panels or {})
        short[a.application_id] = sum(
            1 for r in all_rows if r.application_id == a.application_id and r.status != RECUSED
        )
        cycle.short_panels = short
    await store.s.flush()
    name = names.get(a.application_id, "")
    return AssignmentView(a, name), (AssignmentView(replacement, name) if replacement else None)


async def assignment_materials(store: ReviewStore, p: Principal, *, assignment_id: str) -> MaterialsView:
    """The application's materials for its assigned expert, once they have declared no conflict
    (Art. 9: 专家须先声明无利益冲突方可查阅申报材料). Another expert's assignment is NOT_FOUND; a
    pending declaration or a recusal is refused."""
    a = await _own_assignment(store, p, assignment_id)
    if a.status == PENDING:
        raise _precondition(
            "declare no conflict first: the application's materials are shown only after the "
            "conflict-of-interest declaration",
            "请先声明无利益冲突后再查阅申报材料",
            "DECLARATION_REQUIRED",
            status=a.status,
        )
    if a.status == RECUSED:
        raise _precondition(
            "the expert recused from this application and may not see its materials",
            "专家已回避该申报，不得查阅申报材料",
            "RECUSED",
            status=a.status,
        )
    c = await store.candidate(a.cycle_id, a.application_id)
    if c is None:  # pragma: no cover - an assignment is drawn for a stored candidate
        raise not_found("application", a.application_id, "申报")
    return MaterialsView(
        application_id=c.application_id,
        enterprise_name=c.enterprise_name,
        title=c.title or "",
        materials=[MaterialIn(**m) for m in c.materials or []],
    )


# ------------------------------------------------------------------------------------ score sheets


def _sheet_violation(key: str, problem: str, index: dict[str, int]) -> FieldViolation:
    """Maps a scoring-engine problem (named by indicator id) onto the request's fields:
    ``scores[i].points`` / ``scores[i].justification`` / ``scores[i].indicator_id``, or ``scores``
    for an indicator the sheet lacks."""
    en, _, zh = problem.partition(" / ")
    if key.startswith("justifications."):
        key, kind = key.split(".", 1)[1], "justification"
    elif "justification" in problem:
        kind = "justification"
    elif "unknown indicator" in problem:
        kind = "indicator_id"
    else:
        kind = "points"
    if key in index:
        return FieldViolation(
            f"scores[{index[key]}].{kind}", f"indicator {key}: {en}", f"指标 {key}：{zh or en}"
        )
    return FieldViolation("scores", f"indicator {key}: {en}", f"指标 {key}：{zh or en}")


async def submit_score_sheet(
    store: ReviewStore, p: Principal, *, assignment_id: str, scores: list[ScoreIn], correction_reason: str
) -> ScoreSheetRow:
    a = await _own_assignment(store, p, assignment_id)
    cycle = await _cycle(store, a.cycle_id, lock=True)
    if cycle.phase != EXPERT_REVIEW:
        raise wrong_phase("SubmitScoreSheet", cycle.phase, EXPERT_REVIEW, "提交评分表")
    if a.status == PENDING:
        raise _precondition(
            "declare no conflict first: the assignment has no conflict declaration yet",
            "请先声明无利益冲突后再评分",
            "DECLARATION_REQUIRED",
            status=a.status,
        )
    if a.status == RECUSED:
        raise _precondition(
            "the expert recused from this application and may not score it",
            "专家已回避该申报，不得评分",
            "RECUSED",
            status=a.status,
        )
    policy = policy_of(cycle)
    index = {s.indicator_id: i for i, s in enumerate(scores)}
    problems = scoring.validate_sheet(
        policy,
        {s.indicator_id: s.points for s in scores},
        {s.indicator_id: s.justification for s in scores if s.justification},
    )
    if problems:
        raise _invalid(
            [_sheet_violation(f, m, index) for f, m in problems], "score sheet is invalid", "评分表不合规"
        )
    previous = await store.sheets_of_assignment(a.assignment_id)
    version = len(previous) + 1
    if version > 1 and not correction_reason.strip():
        raise _invalid(
            [
                FieldViolation(
                    "correction_reason",
                    "is required to correct a submitted sheet",
                    "修改已提交的评分表须说明理由",
                )
            ]
        )
    total = sum((s.points for s in scores), Decimal(0))
    sheet = ScoreSheetRow(
        sheet_id=new_id("sht"),
        assignment_id=a.assignment_id,
        cycle_id=a.cycle_id,
        application_id=a.application_id,
        expert_user_id=a.expert_user_id,
        version=version,
        scores=[
            {"indicator_id": s.indicator_id, "points": str(s.points), "justification": s.justification}
            for s in sorted(scores, key=lambda s: policy.indicator_ids().index(s.indicator_id))
        ],
        total=str(total.quantize(TWO_PLACES)),
        correction_reason=correction_reason if version > 1 else "",
        submitted_at=now_utc(),
    )
    await store.add(sheet)
    a.status = SCORED
    await store.s.flush()
    return sheet


# -------------------------------------------------------------------------------------- proposals


def is_listed(line: dict[str, Any]) -> bool:
    """On the proposal as an award or a reserve (i.e. something one may object to)."""
    return bool(line.get("reserve")) or int(line.get("amount_fen") or 0) > 0


async def _sheets_for_proposal(store: ReviewStore, cycle_id: str) -> dict[str, dict[str, dict[str, Decimal]]]:
    """{application: {expert: {indicator: points}}}, the latest version of each expert's sheet."""
    scored = {
        (a.application_id, a.expert_user_id) for a in await store.assignments(cycle_id) if a.status == SCORED
    }
    latest: dict[tuple[str, str], ScoreSheetRow] = {}
    for s in await store.sheets(cycle_id):
        key = (s.application_id, s.expert_user_id)
        if key in scored and (key not in latest or s.version > latest[key].version):
            latest[key] = s
    out: dict[str, dict[str, dict[str, Decimal]]] = {}
    for (app, expert), s in latest.items():
        out.setdefault(app, {})[expert] = {x["indicator_id"]: Decimal(x["points"]) for x in s.scores}
    return out


async def _ranking_inputs(
    store: ReviewStore, cycle: ReviewCycleRow, removed: list[str]
) -> tuple[list[scoring.Candidate], dict[str, dict[str, dict[str, Decimal]]]]:
    """What the proposal is computed from: the compliant candidates not removed by an upheld
    objection and the latest version of each of their experts' sheets."""
    candidates = [
        scoring.Candidate(
            application_id=c.application_id,
            enterprise=c.enterprise_name,
            city=c.city_code,
            submitted_at=c.submitted_at,
        )
        for c in await _compliant_candidates(store, cycle.cycle_id)
        if c.application_id not in removed
    ]
    sheets = await _sheets_for_proposal(store, cycle.cycle_id)
    return candidates, {app: s for app, s in sheets.items() if app not in removed}


@dataclass(frozen=True)
class RankingInputs:
    """Everything a proposal version was computed from."""

    candidates: list[scoring.Candidate]
    sheets: dict[str, dict[str, dict[str, Decimal]]]
    budget_fen: int
    policy_json: str  # the cycle's policy snapshot


async def ranking_inputs(store: ReviewStore, *, cycle_id: str, version: int = 0) -> RankingInputs:
    """What a proposal version (0 = latest) was computed from. With
    :func:`services.review.domain.export.export_csv` these become the CSV files from which
    ``aicc rank --policy <snapshot> --budget-yuan <budget/100>`` recomputes the same proposal."""
    cycle = await _cycle(store, cycle_id)
    row = await get_proposal(store, cycle_id=cycle_id, version=version)
    candidates, sheets = await _ranking_inputs(store, cycle, list(row.removed_application_ids or []))
    return RankingInputs(candidates, sheets, row.budget_fen, cycle.policy_json)


async def _compute(
    store: ReviewStore, cycle: ReviewCycleRow, *, removed: list[str], budget_fen: int
) -> tuple[list[dict[str, Any]], int]:
    policy = policy_of(cycle)
    candidates, sheets = await _ranking_inputs(store, cycle, removed)
    try:
        lines = scoring.proposal_to_json_rows(
            scoring.compute_proposal(policy, candidates, sheets, budget_fen=budget_fen)
        )
    except scoring.ScoringError as e:
        problems = [f"{w}: {p}" for w, p in e.problems]
        raise _precondition(
            f"the score sheets cannot be ranked: {_few(problems)}",
            f"评分表无法排序：{_few(problems)}",
            "SCORING_INCONSISTENT",
        ) from None
    allocated = sum(x["amount_fen"] for x in lines if not x["reserve"])
    return lines, allocated


async def compute_proposal(store: ReviewStore, *, cycle_id: str, budget_fen: int) -> ProposalRow:
    """Ranks the compliant candidates into tiers and allocates the budget (proposal version 1).
    Once computed, repeating the call returns the latest version unchanged."""
    cycle = await _cycle(store, cycle_id, lock=True)
    if cycle.phase in (PROPOSAL, PUBLICITY, ANNOUNCED):
        latest = await store.latest_proposal(cycle_id)
        assert latest is not None
        return latest
    if cycle.phase != EXPERT_REVIEW:
        raise wrong_phase("ComputeProposal", cycle.phase, EXPERT_REVIEW, "计算拟支持名单")
    open_ = [
        f"{a.assignment_id} ({a.expert_user_id} on {a.application_id}: {a.status})"
        for a in await store.assignments(cycle_id)
        if a.status not in (SCORED, RECUSED)
    ]
    sheets = await _sheets_for_proposal(store, cycle_id)
    unscored = [
        c.application_id
        for c in await _compliant_candidates(store, cycle_id)
        if not sheets.get(c.application_id)
    ]
    if open_ or unscored:
        parts_en, parts_zh = [], []
        if open_:
            parts_en.append(f"assignments not yet scored or recused: {_few(open_)}")
            parts_zh.append(f"尚未评分或回避的评审任务：{_few(open_)}")
        if unscored:
            parts_en.append(f"applications without any score sheet: {_few(unscored)}")
            parts_zh.append(f"尚无评分表的申报：{_few(unscored)}")
        raise _precondition(
            "expert review is not complete; " + "; ".join(parts_en),
            "专家评审尚未完成：" + "；".join(parts_zh),
            "EXPERT_REVIEW_UNFINISHED",
        )
    policy = policy_of(cycle)
    budget = budget_fen or policy.budget_fen
    lines, allocated = await _compute(store, cycle, removed=[], budget_fen=budget)
    row = ProposalRow(
        cycle_id=cycle_id,
        version=1,
        lines=lines,
        budget_fen=budget,
        allocated_fen=allocated,
        reason="computed from the expert score sheets / 根据专家评分计算",
        removed_application_ids=[],
        created_at=now_utc(),
    )
    await store.add(row)
    cycle.phase = PROPOSAL
    await store.s.flush()
    return row


async def get_proposal(store: ReviewStore, *, cycle_id: str, version: int) -> ProposalRow:
    await _cycle(store, cycle_id)
    row = await (store.latest_proposal(cycle_id) if version == 0 else store.proposal(cycle_id, version))
    if row is None:
        raise not_found("proposal", f"{cycle_id} v{version}" if version else cycle_id, "拟支持名单")
    return row


async def proposal_document(
    store: ReviewStore, *, cycle_id: str, version: int, generated_at: datetime | None = None
) -> export_files.ProposalDoc:
    """The proposal (as :func:`get_proposal` finds it) with what its files print: the programme's
    title and tier names from the cycle's policy snapshot, and the generation time."""
    cycle = await _cycle(store, cycle_id)
    row = await get_proposal(store, cycle_id=cycle_id, version=version)
    policy = policy_of(cycle)
    return export_files.ProposalDoc(
        proposal=row,
        generated_at=generated_at or now_utc(),
        title=policy.title,
        tier_names={t.key: t.name for t in policy.tiers},
    )


# -------------------------------------------------------------------------------------- publicity


async def open_publicity(
    store: ReviewStore, *, cycle_id: str, proposal_version: int, ends_at: datetime
) -> None:
    cycle = await _cycle(store, cycle_id, lock=True)
    if cycle.phase in (PUBLICITY, ANNOUNCED):
        return
    if cycle.phase != PROPOSAL:
        raise wrong_phase("OpenPublicity", cycle.phase, PROPOSAL, "开始公示")
    row = await get_proposal(store, cycle_id=cycle_id, version=proposal_version)
    cycle.phase = PUBLICITY
    cycle.publicity_ends_at = ends_at
    cycle.publicity_proposal_version = row.version
    await store.s.flush()


def _contact_aad(objection_id: str) -> str:
    return f"objections.objector_contact:{objection_id}"


def objector_contact_for(p: Principal, row: ObjectionRow, cipher: FieldCipher) -> str:
    """The objector's contact as ``p`` may see it: in clear for province industry (who investigates
    and must reach the objector), masked for everyone else. Never logged."""
    try:
        clear = cipher.decrypt(row.objector_contact, _contact_aad(row.objection_id))
    except DecryptionError:
        return "***"  # tampered, moved from another row or another key: show nothing of it
    return clear if p.has(authz.PROVINCE_INDUSTRY) else mask_contact(clear)


async def encrypt_clear_contacts(store: ReviewStore, cipher: FieldCipher) -> int:
    """Encrypts contacts stored in clear before they were encrypted at rest (run at start-up;
    idempotent). Returns how many rows it changed."""
    n = 0
    for row in await store.objections_without_prefix(ENCRYPTED_PREFIX):
        row.objector_contact = cipher.encrypt(row.objector_contact, _contact_aad(row.objection_id))
        n += 1
    await store.s.flush()
    return n


async def file_objection(
    store: ReviewStore,
    p: Principal,
    cipher: FieldCipher,
    *,
    cycle_id: str,
    application_id: str,
    objector_name: str,
    objector_contact: str,
    content: str,
    now: datetime | None = None,
) -> ObjectionRow:
    cycle = await _cycle(store, cycle_id)
    if cycle.phase != PUBLICITY:
        raise wrong_phase("FileObjection", cycle.phase, PUBLICITY, "提出异议")
    now = now or now_utc()
    if cycle.publicity_ends_at is not None and now >= cycle.publicity_ends_at:
        ends = cycle.publicity_ends_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        raise _precondition(
            f"publicity period ended at {ends} (Asia/Shanghai); objections are no longer accepted",
            f"公示期已于 {ends} 结束，不再受理异议",
            "PUBLICITY_ENDED",
            ends_at=cycle.publicity_ends_at.isoformat(),
        )
    latest = await store.latest_proposal(cycle_id)
    line = next((x for x in (latest.lines if latest else []) if x["application_id"] == application_id), None)
    if line is None or not is_listed(line):
        raise not_found("application in the publicised proposal", application_id, "公示名单中的申报")
    objection_id = new_id("obj")
    row = ObjectionRow(
        objection_id=objection_id,
        cycle_id=cycle_id,
        application_id=application_id,
        objector_name=objector_name.strip(),
        objector_contact=cipher.encrypt(objector_contact.strip(), _contact_aad(objection_id)),
        content=content,
        filed_by=p.user_id,
        status=UNDER_INVESTIGATION,
        findings="",
        filed_at=now,
    )
    await store.add(row)
    return row


async def record_investigation(
    store: ReviewStore, p: Principal, *, objection_id: str, upheld: bool, findings: str
) -> tuple[ObjectionRow, ProposalRow | None]:
    """Dismissed → no change. Upheld → the application is removed and the proposal recomputed
    without it as a new version (the reserve list moves up; earlier versions are kept)."""
    obj = await store.objection(objection_id, lock=True)
    if obj is None:
        raise not_found("objection", objection_id, "异议")
    cycle = await _cycle(store, obj.cycle_id, lock=True)
    if obj.status != UNDER_INVESTIGATION:
        raise _precondition(
            f"objection {objection_id} is already {obj.status}; its investigation was recorded",
            f"异议 {objection_id} 已有调查结论（{obj.status}）",
            "ALREADY_INVESTIGATED",
            status=obj.status,
        )
    obj.findings = findings
    obj.decided_by = p.user_id
    obj.decided_at = now_utc()
    if not upheld:
        obj.status = DISMISSED
        await store.s.flush()
        return obj, None
    obj.status = UPHELD
    latest = await store.latest_proposal(obj.cycle_id)
    assert latest is not None
    removed = sorted(set(latest.removed_application_ids or []) | {obj.application_id})
    lines, allocated = await _compute(store, cycle, removed=removed, budget_fen=latest.budget_fen)
    name = next(
        (x.get("enterprise", "") for x in latest.lines if x["application_id"] == obj.application_id), ""
    )
    row = ProposalRow(
        cycle_id=obj.cycle_id,
        version=latest.version + 1,
        lines=lines,
        budget_fen=latest.budget_fen,
        allocated_fen=allocated,
        reason=(
            f"objection {obj.objection_id} upheld: application {obj.application_id} ({name}) removed and the "
            f"proposal recomputed without it / 异议 {obj.objection_id} 经调查属实：移除申报 {obj.application_id}"
            f"（{name}），重新计算"
        ),
        removed_application_ids=removed,
        created_at=now_utc(),
    )
    await store.add(row)
    obj.resulting_proposal_version = row.version
    await store.s.flush()
    return obj, row


async def close_publicity(store: ReviewStore, *, cycle_id: str) -> ProposalRow:
    cycle = await _cycle(store, cycle_id, lock=True)
    if cycle.phase == ANNOUNCED:
        return await get_proposal(store, cycle_id=cycle_id, version=0)
    if cycle.phase != PUBLICITY:
        raise wrong_phase("ClosePublicity", cycle.phase, PUBLICITY, "结束公示")
    pending = [o.objection_id for o in await store.objections(cycle_id) if o.status == UNDER_INVESTIGATION]
    if pending:
        raise _precondition(
            f"objections still under investigation: {_few(pending)}",
            f"仍有异议在调查核实中：{_few(pending)}",
            "OBJECTIONS_PENDING",
            objections=_few(pending),
        )
    cycle.phase = ANNOUNCED
    cycle.announced_at = now_utc()
    await store.s.flush()
    return await get_proposal(store, cycle_id=cycle_id, version=0)


async def objections(store: ReviewStore, cycle_id: str) -> list[ObjectionRow]:
    await _cycle(store, cycle_id)
    return await store.objections(cycle_id)


# ---------------------------------------------------------------------------------- on-site reviews


async def record_on_site_review(
    store: ReviewStore,
    p: Principal,
    *,
    cycle_id: str,
    application_id: str,
    kind: str,
    held_on: date,
    participants: list[str],
    findings: str,
) -> OnSiteReviewRow:
    """Records an on-site defence or site verification of one application (Art. 9: 必要时组织
    现场答辩或现场核查), during compliance or expert review. Append-only."""
    if kind not in ON_SITE_KINDS:  # pragma: no cover - the API maps the enum
        raise ValueError(kind)
    cycle = await _cycle(store, cycle_id, lock=True)
    if await store.candidate(cycle_id, application_id) is None:
        raise not_found("application", application_id, "申报")
    if cycle.phase not in ON_SITE_PHASES:
        raise wrong_phase("RecordOnSiteReview", cycle.phase, ON_SITE_PHASES, "记录现场答辩或现场核查")
    row = OnSiteReviewRow(
        on_site_review_id=new_id("osr"),
        cycle_id=cycle_id,
        application_id=application_id,
        kind=kind,
        held_on=held_on.isoformat(),
        participants=[x.strip() for x in participants],
        findings=findings,
        recorded_by=p.user_id,
        recorded_at=now_utc(),
    )
    await store.add(row)
    return row


async def on_site_reviews(store: ReviewStore, *, cycle_id: str, application_id: str) -> list[OnSiteReviewRow]:
    await _cycle(store, cycle_id)
    if application_id and await store.candidate(cycle_id, application_id) is None:
        raise not_found("application", application_id, "申报")
    return await store.on_site_reviews(cycle_id, application_id or None)
