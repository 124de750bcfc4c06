"""The province's decisions on a cycle (Art. 9–10, 14), each handed to the cycle's workflow as a
validated update: the workflow refuses a decision out of phase, on a stale proposal version or with
incomplete content, and that refusal reaches the caller as the same domain error. The decision
names its maker and the role they decide in; the RPC's role gate has checked that role."""

from __future__ import annotations

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.ports import UnitOfWork
from services.intake.domain.cycles import actor, get_cycle, require_cycle
from services.intake.domain.model import CycleView
from services.intake.domain.ports import CycleWorkflows, IntakeRepository
from workflows.cycle.models import (
    ComplianceDecisions,
    ComplianceItem,
    ComplianceResult,
    Conclusion,
    ProposalDecision,
    PublicityOutcome,
)


async def decide_compliance(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    decisions: list[ComplianceItem],
) -> ComplianceResult:
    """DecideCompliance: province industry's formal review of recommended applications (Art. 9)."""
    await require_cycle(uow, cycle_id)
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


async def decide_finance_concurrence(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    proposal_version: int,
    agree: bool,
    opinion: str,
) -> CycleView:
    """DecideFinanceConcurrence: province finance agrees to this version of the proposal, or sends it
    back to PROPOSAL with its opinion (Art. 10)."""
    await require_cycle(uow, cycle_id)
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
