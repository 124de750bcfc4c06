"""How supervision is served: its servicer (tokens verified with identity's published keys)."""

from __future__ import annotations

import grpc

from aicc.platform.server import BaseApp, ServiceSpec
from aicc.supervision.v1 import supervision_pb2, supervision_pb2_grpc
from services.supervision.api import SupervisionServicer


class SupervisionApp(BaseApp):
    def register(self, server: grpc.aio.Server) -> None:
        supervision_pb2_grpc.add_SupervisionServiceServicer_to_server(SupervisionServicer(self.rt), server)


SPEC = ServiceSpec(
    name="supervision",
    service_names=(supervision_pb2.DESCRIPTOR.services_by_name["SupervisionService"].full_name,),
    build=SupervisionApp,
)
