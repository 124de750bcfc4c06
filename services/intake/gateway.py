"""Intake's outbound adapter to the cycle workflow (Temporal): start, query, decide.

Refusals from the workflow (validators and handlers raise ``ApplicationError`` typed with a gRPC
code name) become the same domain errors here, so the caller sees one error vocabulary.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from aicc.platform import errors
from workflows.cycle.models import WORKFLOW_NAME, CycleInput, CycleStatus, workflow_id
from workflows.cycle.refusals import from_application_error


def _domain_error(cause: BaseException | None) -> errors.DomainError:
    return from_application_error(cause)


class CycleGateway:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, inp: CycleInput) -> str:
        wid = workflow_id(inp.cycle_id)
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME,
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
            return await self.client.get_workflow_handle(workflow_id(cycle_id)).query(
                "status", result_type=CycleStatus
            )
        except RPCError:
            return None

    async def decide(self, cycle_id: str, update: str, arg, result_type=None):
        handle = self.client.get_workflow_handle(workflow_id(cycle_id))
        try:
            return await handle.execute_update(update, arg, result_type=result_type)
        except WorkflowUpdateFailedError as e:
            raise _domain_error(e.cause) from None
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
