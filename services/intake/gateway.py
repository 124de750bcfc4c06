"""Intake's adapter to the cycle workflows (Temporal): the ``CycleWorkflows`` port of its domain.

Start, query and every decision name the workflow's own methods (``CycleWorkflow.run``,
``CycleWorkflow.status``, ``CycleWorkflow.decide_compliance``, …), so a renamed or retyped method
fails here at type-check time rather than at run time. Refusals from the workflow (validators and
handlers raise ``ApplicationError`` typed with a code name) become the same domain errors here
(``workflows.cycle.refusals``), so the caller sees one error vocabulary.

Decisions never bounce back to an official as an outage because many arrive at once (issue 9,
point 13): Temporal accepts at most 10 in-flight updates per workflow and answers the 11th with
RESOURCE_EXHAUSTED. This adapter keeps at most ``max_in_flight`` (8) updates of one cycle in flight
from this process (the others queue), and retries an update Temporal turns away as busy with a
short, capped, jittered back-off for up to ``retry_for`` seconds (a caller's own gRPC deadline
cancels the wait earlier). Each decision carries one update id across its retries, so Temporal
runs it at most once.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
    DeadlineExtension,
    ProposalDecision,
    ProposalRevision,
    PublicityOutcome,
    Resumption,
    SignoffResult,
    workflow_id,
)
from workflows.cycle.refusals import from_application_error
from workflows.cycle.workflow import CycleWorkflow

A = TypeVar("A")
R = TypeVar("R")

MAX_IN_FLIGHT = 8  # per cycle, from this process (Temporal's own limit per workflow is 10)
# Temporal's answers that mean "busy, try again": too many in-flight updates, a contended shard.
BUSY = frozenset({RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.ABORTED})


class CycleGateway:
    """Implements ``services.intake.domain.ports.CycleWorkflows`` with a Temporal client."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        retry_for: float = 60.0,
        first_backoff: float = 0.05,
        max_backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.max_in_flight = max_in_flight
        self.retry_for = retry_for
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._slots: dict[str, asyncio.Semaphore] = {}

    def _slot(self, cycle_id: str) -> asyncio.Semaphore:
        if cycle_id not in self._slots:
            self._slots[cycle_id] = asyncio.Semaphore(self.max_in_flight)
        return self._slots[cycle_id]

    def backoffs(self) -> list[float]:
        """The waits between attempts (before jitter): doubling from ``first_backoff`` up to
        ``max_backoff``, as many as fit in ``retry_for``."""
        out: list[float] = []
        wait, total = self.first_backoff, 0.0
        while total + wait <= self.retry_for:
            out.append(wait)
            total += wait
            wait = min(wait * 2, self.max_backoff)
        return out

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

    async def status(self, cycle_id: str, *, wait: float = 3.0) -> CycleStatus | None:
        # A query is answered by a worker: while none runs (crashed, restarting) Temporal holds it,
        # and the client retries a timed-out query by itself — so the wait is bounded here. GetCycle
        # then answers from intake's own record of the phase instead of hanging.
        query = self._handle(cycle_id).query(CycleWorkflow.status, rpc_timeout=timedelta(seconds=wait))
        try:
            return await asyncio.wait_for(query, timeout=wait)
        except (RPCError, TimeoutError):
            return None

    async def _decide(
        self, cycle_id: str, update: UpdateMethodMultiParam[[CycleWorkflow, A], R], arg: A
    ) -> R:
        async with self._slot(cycle_id):  # the others queue here, not at Temporal
            return await self._update(cycle_id, update, arg)

    async def _update(
        self, cycle_id: str, update: UpdateMethodMultiParam[[CycleWorkflow, A], R], arg: A
    ) -> R:
        handle = self._handle(cycle_id)
        update_id = f"{getattr(update, '__name__', 'update')}-{uuid.uuid4().hex}"
        actor = getattr(arg, "actor", None)
        if actor is not None and not actor.request_id:
            # The workflow takes a decision once: a payload replayed from its history is refused.
            actor.request_id = update_id
        waits = iter(self.backoffs())
        while True:
            try:
                return await handle.execute_update(update, arg, id=update_id)
            except WorkflowUpdateFailedError as e:
                raise from_application_error(e.cause) from None
            except RPCError as e:
                wait = next(waits, None) if e.status in BUSY else None
                if wait is None:
                    raise self._unavailable(cycle_id, e) from None
            # Jitter spreads the retries of updates turned away together (not a security use).
            await self._sleep(wait * (0.5 + random.random()))  # noqa: S311

    @staticmethod
    def _unavailable(cycle_id: str, e: RPCError) -> errors.DomainError:
        if e.status in BUSY:
            return errors.Unavailable(
                f"many decisions are arriving for cycle {cycle_id}; nothing was recorded, try again shortly",
                f"年度申报 {cycle_id} 同时提交的决定较多，本次未作记录，请稍后重试",
                reason="WORKFLOW_BUSY",
            )
        if e.status == RPCStatusCode.NOT_FOUND:
            return errors.FailedPrecondition(
                f"cycle {cycle_id} is not running (closed or never started)",
                f"年度申报 {cycle_id} 未在运行（已结束或未启动）",
                reason="CYCLE_NOT_RUNNING",
            )
        return errors.Unavailable(
            "the workflow service is unavailable; try again",
            "流程服务暂不可用，请稍后重试",
            reason="TEMPORAL_UNAVAILABLE",
        )

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

    # revise_proposal → the new version; extend_deadline → the deadline as extended (ISO 8601 UTC);
    # resume → the phase resumed in.

    async def revise_proposal(self, cycle_id: str, revision: ProposalRevision) -> int:
        return await self._decide(cycle_id, CycleWorkflow.revise_proposal, revision)

    async def extend_deadline(self, cycle_id: str, extension: DeadlineExtension) -> str:
        return await self._decide(cycle_id, CycleWorkflow.extend_deadline, extension)

    async def resume(self, cycle_id: str, resumption: Resumption) -> str:
        return await self._decide(cycle_id, CycleWorkflow.resume, resumption)
