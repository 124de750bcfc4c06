"""The province's decisions on a cycle (Art. 9–10, 14), each handed to the cycle's workflow as a
validated update: the workflow refuses a decision out of phase, on a stale proposal version or with
incomplete content, and that refusal reaches the caller as the same domain error. Intake first
checks what its own records can tell (a compliance decision only on an application recommended to
the province in this cycle; a revision only of this cycle's applications; a deadline only moved
later, the application window inside the policy's validity). The decision names its maker and the
role they decide in; the RPC's role gate has checked that role.

Finance's concurrence is also a record of funding's (Art. 3–4: money only finance can open): intake
reads the version's funded lines from review and asks funding to record the concurrence with the
finance official's own token (forwarded), then hands the decision to the workflow."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import beijing_text
from aicc.platform.errors import (
    FailedPrecondition,
    FieldViolation,
    NotFound,
    Unavailable,
    invalid,
    wrong_phase,
)
from aicc.platform.ports import UnitOfWork
from services.intake.domain.cycles import (
    actor,
    check_window_within_validity,
    cycle_of,
    get_cycle,
    require_cycle,
    valid_until,
)
from services.intake.domain.model import Application, ApplicationStatus, Cycle, CycleView
from services.intake.domain.ports import CycleWorkflows, FundingRecords, IntakeRepository, ReviewRecords
from workflows.cycle.models import (
    ComplianceDecisions,
    ComplianceItem,
    ComplianceResult,
    Conclusion,
    CycleStatus,
    DeadlineExtension,
    Phase,
    ProposalChange,
    ProposalDecision,
    ProposalRevision,
    PublicityOutcome,
    Resumption,
)

# Phases whose deadline province industry may extend (ExtendDeadline).
EXTENDABLE = (Phase.APPLYING, Phase.CITY_REVIEW, Phase.EXPERT_REVIEW, Phase.PUBLICITY, Phase.SUPERVISING)
LISTED = 20


def _listed(ids: list[str]) -> str:
    more = f" … (+{len(ids) - LISTED})" if len(ids) > LISTED else ""
    return ", ".join(ids[:LISTED]) + more


# A decision needs the workflow's state: it waits this long for a worker (one restarting after a
# crash is back within seconds), then the official is told to try again.
DECISION_STATE_WAIT = 30.0


async def _status(workflows: CycleWorkflows, cycle_id: str) -> CycleStatus:
    status = await workflows.status(cycle_id, wait=DECISION_STATE_WAIT)
    if status is None:
        raise Unavailable(
            f"the state of cycle {cycle_id} cannot be read now; nothing was recorded, try again",
            f"暂时无法读取年度申报 {cycle_id} 的流程状态，未作任何记录，请稍后重试",
            reason="WORKFLOW_STATE_UNAVAILABLE",
        )
    return status


async def applications_in_cycle(
    uow: UnitOfWork[IntakeRepository], cycle_id: str, ids: list[str], field: str
) -> list[Application]:
    """The cycle's applications of these ids; any that is not one of them is NOT_FOUND, every such
    id listed (an official corrects them all at once)."""
    async with uow() as repo:
        await cycle_of(repo, cycle_id)
        stored = await repo.applications_by_id(ids)
    found = [stored[aid] for aid in ids if aid in stored and stored[aid].cycle_id == cycle_id]
    missing = [aid for aid in ids if aid not in stored or stored[aid].cycle_id != cycle_id]
    if missing:
        raise NotFound(
            f"not applications of cycle {cycle_id}: {_listed(missing)}",
            f"以下项目不属于本年度申报：{_listed(missing)}",
            reason="APPLICATION_NOT_FOUND",
            metadata={"field": field, "application_ids": _listed(missing)},
        )
    return found


async def check_recommended(uow: UnitOfWork[IntakeRepository], cycle_id: str, ids: list[str]) -> None:
    """Every application is this cycle's (else NOT_FOUND) and RECOMMENDED (else FAILED_PRECONDITION)."""
    apps = await applications_in_cycle(uow, cycle_id, ids, "decisions")
    elsewhere = [
        f"{a.application_id} ({a.status})" for a in apps if a.status != ApplicationStatus.RECOMMENDED
    ]
    if elsewhere:
        raise FailedPrecondition(
            f"only applications recommended to the province are reviewed for compliance: {_listed(elsewhere)}",
            f"仅对市级推荐至省级的项目进行合规性审核，以下项目不在推荐状态：{_listed(elsewhere)}",
            reason="NOT_RECOMMENDED",
            metadata={"field": "decisions", "application_ids": _listed(elsewhere)},
        )


async def decide_compliance(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    decisions: list[ComplianceItem],
) -> ComplianceResult:
    """DecideCompliance: province industry's formal review of recommended applications (Art. 9);
    each must be recommended to the province in this cycle (intake's records)."""
    await check_recommended(uow, cycle_id, [d.application_id for d in decisions])
    return await workflows.decide_compliance(
        cycle_id, ComplianceDecisions(actor(principal, authz.PROVINCE_INDUSTRY), decisions)
    )


async def conclude_expert_review(
    *, uow: UnitOfWork[IntakeRepository], workflows: CycleWorkflows, principal: Principal, cycle_id: str
) -> int:
    """ConcludeExpertReview: scoring closed, the proposal computed; returns its version."""
    await require_cycle(uow, cycle_id)
    return await workflows.conclude_expert_review(
        cycle_id, Conclusion(actor(principal, authz.PROVINCE_INDUSTRY))
    )


def check_current_version(
    status: CycleStatus, phase: Phase, action: str, action_zh: str, version: int
) -> None:
    """The cycle is in ``phase`` deciding on ``version`` (what the workflow's validator will check
    again): nothing is recorded anywhere for a decision the workflow would refuse."""
    if status.phase != phase:
        raise wrong_phase(action, status.phase, phase, action_zh)
    if version != status.proposal_version:
        raise FailedPrecondition(
            f"proposal_version {version} is not the current proposal (version {status.proposal_version})",
            f"拟支持名单版本 {version} 不是当前版本（{status.proposal_version}）",
            reason="STALE_PROPOSAL_VERSION",
            metadata={"field": "proposal_version", "current": str(status.proposal_version)},
        )


async def decide_finance_concurrence(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    review: ReviewRecords,
    funding: FundingRecords,
    principal: Principal,
    cycle_id: str,
    proposal_version: int,
    agree: bool,
    opinion: str,
) -> CycleView:
    """DecideFinanceConcurrence: province finance agrees to this version of the proposal, or sends it
    back to PROPOSAL with its opinion (Art. 10). Funding records it first, with finance's own token
    and the version's funded lines as review holds them: a reservation is only ever made against a
    concurrence finance itself recorded."""
    await require_cycle(uow, cycle_id)
    check_current_version(
        await _status(workflows, cycle_id),
        Phase.FINANCE_CONCURRENCE,
        "DecideFinanceConcurrence",
        "财政厅会签",
        proposal_version,
    )
    proposal = await review.proposal(cycle_id, proposal_version)
    funded = [line for line in proposal.lines if line.funded] if agree else []
    record = await funding.record_finance_concurrence(cycle_id, proposal_version, agree, opinion, funded)
    if record.agree != agree:
        raise FailedPrecondition(
            f"funding already holds finance's {'concurrence' if record.agree else 'return'} of version "
            f"{proposal_version}; a different decision on the same version is not recorded",
            f"资金系统已记录财政厅对第 {proposal_version} 版的{'同意' if record.agree else '退回'}意见，"
            "同一版本不能作出不同决定",
            reason="CONCURRENCE_ALREADY_RECORDED",
            metadata={"proposal_version": str(proposal_version)},
        )
    await workflows.decide_finance_concurrence(
        cycle_id,
        ProposalDecision(actor(principal, authz.PROVINCE_FINANCE), proposal_version, agree, opinion),
    )
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def resubmit_proposal(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    note: str,
) -> CycleView:
    """ResubmitProposal: a returned proposal sent again, saying how it was addressed."""
    await require_cycle(uow, cycle_id)
    await workflows.resubmit_proposal(cycle_id, Conclusion(actor(principal, authz.PROVINCE_INDUSTRY), note))
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def decide_party_group_approval(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    proposal_version: int,
    approve: bool,
    opinion: str,
    meeting_reference: str,
) -> CycleView:
    """DecidePartyGroupApproval: the party-group meeting's decision on the proposal (Art. 10)."""
    await require_cycle(uow, cycle_id)
    await workflows.decide_party_group_approval(
        cycle_id,
        ProposalDecision(
            actor(principal, authz.PARTY_GROUP), proposal_version, approve, opinion, meeting_reference
        ),
    )
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def decide_publicity_outcome(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    announcement_document_no: str,
) -> CycleView:
    """DecidePublicityOutcome: after publicity, with every objection investigated, announce (Art. 10)."""
    await require_cycle(uow, cycle_id)
    await workflows.decide_publicity_outcome(
        cycle_id, PublicityOutcome(actor(principal, authz.PROVINCE_INDUSTRY), announcement_document_no)
    )
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def conclude_supervision(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    summary: str,
) -> CycleView:
    """ConcludeSupervision: supervision of the cycle ends once every award is evaluated (Art. 14)."""
    await require_cycle(uow, cycle_id)
    await workflows.conclude_supervision(
        cycle_id, Conclusion(actor(principal, authz.PROVINCE_INDUSTRY), summary)
    )
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def revise_proposal(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    proposal_version: int,
    changes: list[ProposalChange],
    note: str,
) -> tuple[int, CycleView]:
    """ReviseProposal: province industry revises a returned proposal (amounts at most the tier's
    cap, promotions of reserves, each with its reason; review checks them against the version);
    returns the new version and the cycle."""
    await applications_in_cycle(uow, cycle_id, [c.application_id for c in changes], "changes")
    revision = ProposalRevision(actor(principal, authz.PROVINCE_INDUSTRY), proposal_version, changes, note)
    version = await workflows.revise_proposal(cycle_id, revision)
    return version, await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


def stored_deadline(cycle: Cycle, phase: Phase) -> datetime | None:
    """The deadline intake holds for a phase (the call's dates), None for the workflow's own."""
    if phase == Phase.APPLYING:
        return cycle.applications_close_at
    if phase == Phase.CITY_REVIEW:
        return cycle.city_review_due_at
    return None


def check_extension(
    cycle: Cycle, status: CycleStatus | None, phase: Phase, new: datetime, now: datetime
) -> None:
    """A deadline only moves later (than now and than the phase's current deadline), and the
    application window still closes inside the policy's validity (Art. 19)."""
    current: datetime | None = stored_deadline(cycle, phase)
    if status is not None and status.phase == phase and status.deadline:
        current = datetime.fromisoformat(status.deadline)
    floor = max(d for d in (now, current) if d is not None)
    if new <= floor:
        shown = beijing_text(floor)
        raise invalid(
            [
                FieldViolation(
                    "new_deadline",
                    f"must be later than {floor.isoformat()} (the current deadline, or now)",
                    f"须晚于 {shown}（当前截止时间或当前时间）",
                )
            ],
            "a deadline can only be extended",
            "截止时间只能延后",
        )
    until = valid_until(cycle)
    if phase == Phase.APPLYING and until is not None:
        check_window_within_validity(cycle.policy_id, until, new)


async def apply_extension(repo: IntakeRepository, cycle_id: str, phase: Phase, deadline: datetime) -> None:
    """Intake's own dates follow an extended deadline (submission checks the window); never earlier."""
    cycle = await cycle_of(repo, cycle_id, for_update=True)
    if phase == Phase.APPLYING and deadline > cycle.applications_close_at:
        cycle.applications_close_at = deadline
    elif phase == Phase.CITY_REVIEW and deadline > cycle.city_review_due_at:
        cycle.city_review_due_at = deadline
    else:
        return
    await repo.save_cycle(cycle)


async def extend_deadline(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    phase: Phase,
    new_deadline: datetime,
    reason: str,
    now: datetime,
) -> CycleView:
    """ExtendDeadline: province industry moves the current phase's deadline later with a recorded
    reason (e.g. the suite was down on the window's last day); the workflow checks the phase."""
    cycle = await require_cycle(uow, cycle_id)
    check_extension(cycle, await workflows.status(cycle_id), phase, new_deadline, now)
    extension = DeadlineExtension(
        actor(principal, authz.PROVINCE_INDUSTRY), phase, new_deadline.isoformat(), reason
    )
    extended = await workflows.extend_deadline(cycle_id, extension)
    async with uow() as repo:
        await apply_extension(
            repo, cycle_id, phase, datetime.fromisoformat(extended) if extended else new_deadline
        )
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)


async def resume_cycle(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    note: str,
) -> CycleView:
    """ResumeCycle: a cycle that needs attention runs its refused step again once the cause is
    fixed (the note says what was fixed)."""
    await require_cycle(uow, cycle_id)
    status = await workflows.status(cycle_id)
    if status is not None and status.attention is None:
        raise FailedPrecondition(
            f"cycle {cycle_id} does not need attention (phase {status.phase}); there is nothing to resume",
            f"年度申报 {cycle_id} 当前（{status.phase}）无待处理事项，无需恢复",
            reason="NOT_NEEDING_ATTENTION",
            metadata={"phase": str(status.phase)},
        )
    role = authz.PROVINCE_INDUSTRY if principal.has(authz.PROVINCE_INDUSTRY) else authz.SYSTEM_ADMIN
    await workflows.resume(cycle_id, Resumption(actor(principal, role), note))
    return await get_cycle(uow=uow, workflows=workflows, cycle_id=cycle_id)
