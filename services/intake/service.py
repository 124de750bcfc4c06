"""How intake is served: its servicer, and a Temporal client for the cycle workflows."""

from __future__ import annotations

from aicc.intake.v1 import intake_pb2, intake_pb2_grpc
from aicc.platform.server import Runtime, ServiceSpec
from services.intake.api import IntakeServicer
from services.intake.gateway import CycleGateway


def _register(rt: Runtime, server) -> None:
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(rt), server)


async def _connect_temporal(rt: Runtime) -> None:
    if "gateway" not in rt.extras:
        from workflows.cycle.worker import connect

        client = await connect(rt.settings)
        rt.extras["gateway"] = CycleGateway(client, rt.settings.temporal_task_queue)


SPEC = ServiceSpec(
    name="intake",
    service_names=(intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name,),
    register=_register,
    on_start=_connect_temporal,
)
