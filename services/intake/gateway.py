"""Intake's adapter to the cycle workflows (Temporal): the ``CycleWorkflows`` port of its domain.

Start, query and every decision name the workflow's own methods (``CycleWorkflow.run``,
``CycleWorkflow.status``, ``CycleWorkflow.decide_compliance``, …), so a renamed or retyped method
fails here at type-check time rather than at run time. Refusals from the workflow (validators and
handlers raise ``ApplicationError`` typed with a code name) become the same domain errors here
(``workflows.cycle.refusals``), so the caller sees one error vocabulary.
"""

from __future__ import annotations

from typing import TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from aicc.platform import errors
from workflows.cycle.models import (
    CitySignoff,
    ComplianceDecisions,
    ComplianceResult,
    Conclusion,
    CycleInput,
    CycleStatus,
    ProposalDecision,
    PublicityOutcome,
    SignoffResult,
    workflow_id,
)
from workflows.cycle.refusals import from_application_error
from workflows.cycle.workflow import CycleWorkflow

A = TypeVar("A")
R = TypeVar("R")


class CycleGateway:
    """Implements ``services.intake.domain.ports.CycleWorkflows`` with a Temporal client."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    def _handle(self, cycle_id: str) -> WorkflowHandle[CycleWorkflow, CycleStatus]:
        return self.client.get_workflow_handle_for(CycleWorkflow.run, workflow_id(cycle_id))

    async def start(self, inp: CycleInput) -> str:
        wid = workflow_id(inp.cycle_id)
        try:
            await self.client.start_workflow(
                CycleWorkflow.run,
                inp,
                id=wid,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            raise errors.AlreadyExists(
                f"cycle {inp.cycle_id} already exists (workflow {wid})",
                f"年度申报 {inp.cycle_id} 已存在",
                reason="CYCLE_EXISTS",
            ) from None
        return wid

    async def status(self, cycle_id: str) -> CycleStatus | None:
        try:
            return await self._handle(cycle_id).query(CycleWorkflow.status)
        except RPCError:
            return None

    async def _decide(
        self, cycle_id: str, update: UpdateMethodMultiParam[[CycleWorkflow, A], R], arg: A
    ) -> R:
        try:
            return await self._handle(cycle_id).execute_update(update, arg)
        except WorkflowUpdateFailedError as e:
            raise from_application_error(e.cause) from None
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise errors.FailedPrecondition(
                    f"cycle {cycle_id} is not running (closed or never started)",
                    f"年度申报 {cycle_id} 未在运行（已结束或未启动）",
                    reason="CYCLE_NOT_RUNNING",
                ) from None
            raise errors.Unavailable(
                "the workflow service is unavailable; try again",
                "流程服务暂不可用，请稍后重试",
                reason="TEMPORAL_UNAVAILABLE",
            ) from None

    # One method per decision, each naming the workflow's update.

    async def sign_city_recommendation(self, cycle_id: str, signoff: CitySignoff) -> SignoffResult:
        return await self._decide(cycle_id, CycleWorkflow.sign_city_recommendation, signoff)

    async def decide_compliance(self, cycle_id: str, decisions: ComplianceDecisions) -> ComplianceResult:
        return await self._decide(cycle_id, CycleWorkflow.decide_compliance, decisions)

    async def conclude_expert_review(self, cycle_id: str, conclusion: Conclusion) -> int:
        return await self._decide(cycle_id, CycleWorkflow.conclude_expert_review, conclusion)

    async def decide_finance_concurrence(self, cycle_id: str, decision: ProposalDecision) -> str:
        return await self._decide(cycle_id, CycleWorkflow.decide_finance_concurrence, decision)

    async def resubmit_proposal(self, cycle_id: str, conclusion: Conclusion) -> int:
        return await self._decide(cycle_id, CycleWorkflow.resubmit_proposal, conclusion)

    async def decide_party_group_approval(self, cycle_id: str, decision: ProposalDecision) -> str:
        return await self._decide(cycle_id, CycleWorkflow.decide_party_group_approval, decision)

    async def decide_publicity_outcome(self, cycle_id: str, outcome: PublicityOutcome) -> int:
        return await self._decide(cycle_id, CycleWorkflow.decide_publicity_outcome, outcome)

    async def conclude_supervision(self, cycle_id: str, conclusion: Conclusion) -> str:
        return await self._decide(cycle_id, CycleWorkflow.conclude_supervision, conclusion)
