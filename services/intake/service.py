"""How intake is served: its servicer, and a Temporal client for the cycle workflows."""

from __future__ import annotations

import grpc

from aicc.intake.v1 import intake_pb2, intake_pb2_grpc
from aicc.platform.errors import Unavailable
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from services.intake.api import IntakeServicer
from services.intake.gateway import CycleGateway


class IntakeApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        # Connected on start; a test may set one of its own before.
        self._gateway: CycleGateway | None = None

    @property
    def gateway(self) -> CycleGateway:
        if self._gateway is None:
            raise Unavailable(
                "the workflow service is not connected yet", "流程服务尚未连接", reason="TEMPORAL_UNAVAILABLE"
            )
        return self._gateway

    def register(self, server: grpc.aio.Server) -> None:
        intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(self.rt, self), server)

    async def start(self) -> None:
        if self._gateway is None:
            from workflows.cycle.worker import connect

            client = await connect(self.rt.settings)
            self._gateway = CycleGateway(client, self.rt.settings.temporal_task_queue)


SPEC = ServiceSpec(
    name="intake",
    service_names=(intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,),
    build=IntakeApp,
)
