"""How review is served: the App builds its dependencies (the unit of work on its own database, the
SM4-GCM cipher for objectors' contacts at rest, identity's expert pool and intake's recommended
applications over gRPC, the page tokens)
and hands them to the servicer; tokens are verified with identity's published keys."""

from __future__ import annotations

import logging

import grpc

from aicc.platform.crypto import FieldCipher, cipher_from_settings
from aicc.platform.db import unit_of_work
from aicc.platform.pagination import PageTokens
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from aicc.review.v1 import review_pb2, review_pb2_grpc
from services.review.adapters import IdentityExpertRegistry, IntakeRecommendedApplications
from services.review.api import ReviewServicer
from services.review.domain import publicity
from services.review.domain.ports import ExpertRegistry, IntakeApplications, ReviewUnitOfWork
from services.review.store import Base, ReviewStore


class ReviewApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.cipher: FieldCipher = cipher_from_settings(rt.settings)
        self.uow: ReviewUnitOfWork = unit_of_work(rt.db, ReviewStore)
        self.experts: ExpertRegistry = IdentityExpertRegistry(rt.clients)
        self.intake: IntakeApplications = IntakeRecommendedApplications(rt.clients)
        self.tokens = PageTokens(rt.audit_key)

    def register(self, server: grpc.aio.Server) -> None:
        servicer = ReviewServicer(
            uow=self.uow, experts=self.experts, intake=self.intake, cipher=self.cipher, tokens=self.tokens
        )
        review_pb2_grpc.add_ReviewServiceServicer_to_server(servicer, server)

    async def start(self) -> None:
        """Objections filed before contacts were encrypted at rest are encrypted now (idempotent)."""
        n = await publicity.encrypt_clear_contacts(self.uow, self.cipher)
        if n:
            logging.getLogger(__name__).info("encrypted %d objector contact(s) stored in clear", n)


SPEC = ServiceSpec(
    name="review",
    service_names=(review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,),
    build=ReviewApp,
    metadata=Base.metadata,
)
