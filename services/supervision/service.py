"""How supervision is served: its App builds the use cases' dependencies (a unit of work over its
store, page tokens under its audit key, the clock) and registers its servicer; tokens are verified
with identity's published keys."""

from __future__ import annotations

import grpc

from aicc.platform.clock import now_utc
from aicc.platform.db import unit_of_work
from aicc.platform.pagination import PageTokens
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from aicc.supervision.v1 import supervision_pb2, supervision_pb2_grpc
from services.supervision.api import SupervisionServicer
from services.supervision.store import Base, SupervisionStore


class SupervisionApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.servicer = SupervisionServicer(
            uow=unit_of_work(rt.db, SupervisionStore),
            page_tokens=PageTokens(rt.audit_key),
            clock=now_utc,
        )

    def register(self, server: grpc.aio.Server) -> None:
        supervision_pb2_grpc.add_SupervisionServiceServicer_to_server(self.servicer, server)


SPEC = ServiceSpec(
    name="supervision",
    service_names=(supervision_pb2.DESCRIPTOR.services_by_name["SupervisionService"].full_name,),
    build=SupervisionApp,
    metadata=Base.metadata,
)
