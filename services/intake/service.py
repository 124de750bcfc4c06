"""How intake is served: the use cases' dependencies (its store's unit of work, identity's
registry, review's and funding's records over gRPC, the cycle workflows over Temporal, page tokens)
and its servicer."""

from __future__ import annotations

from pathlib import Path

import grpc

from aicc.intake.v1 import intake_pb2, intake_pb2_grpc
from aicc.platform.db import unit_of_work
from aicc.platform.errors import Unavailable
from aicc.platform.pagination import PageTokens
from aicc.platform.ports import UnitOfWork
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from aicc.platform.temporal import connect
from services.intake.adapters import FundingRecordsClient, IdentityRegistryClient, ReviewRecordsClient
from services.intake.api import IntakeServicer
from services.intake.domain.model import Instance
from services.intake.domain.ports import (
    CycleWorkflows,
    FundingRecords,
    IdentityRegistry,
    IntakeRepository,
    ReviewRecords,
)
from services.intake.gateway import CycleGateway
from services.intake.store import Base, IntakeStore


class IntakeApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.uow: UnitOfWork[IntakeRepository] = unit_of_work(rt.db, IntakeStore)
        self.identity: IdentityRegistry = IdentityRegistryClient(rt.clients)
        # Read and asked to record with the caller's token (a test may set fakes of its own).
        self.review: ReviewRecords = ReviewRecordsClient(rt.clients)
        self.funding: FundingRecords = FundingRecordsClient(rt.clients)
        self.page_tokens = PageTokens(rt.audit_key)
        self.instance = Instance(rt.settings.instance_scope, rt.settings.instance_city_code)
        self.policy_dir: Path | None = rt.settings.policy_dir
        # Connected on start; a test may set one of its own before.
        self.gateway: CycleWorkflows | None = None

    @property
    def workflows(self) -> CycleWorkflows:
        if self.gateway is None:
            raise Unavailable(
                "the workflow service is not connected yet", "流程服务尚未连接", reason="TEMPORAL_UNAVAILABLE"
            )
        return self.gateway

    def register(self, server: grpc.aio.Server) -> None:
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(self), server)

    async def start(self) -> None:
        if self.gateway is None:
            client = await connect(self.rt.settings)
            self.gateway = CycleGateway(client, self.rt.settings.temporal_task_queue)


SPEC = ServiceSpec(
    name="intake",
    service_names=(intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,),
    build=IntakeApp,
    metadata=Base.metadata,
)
