"""How review is served: its servicer (with the SM4-GCM cipher for objectors' contacts at rest);
tokens are verified with identity's published keys."""

from __future__ import annotations

import logging

import grpc

from aicc.platform.crypto import FieldCipher, cipher_from_settings
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from aicc.review.v1 import review_pb2, review_pb2_grpc
from services.review.api import ReviewServicer
from services.review.domain import usecases
from services.review.store import ReviewStore


class ReviewApp(BaseApp):
    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.cipher: FieldCipher = cipher_from_settings(rt.settings)

    def register(self, server: grpc.aio.Server) -> None:
        review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(self.rt, self.cipher), server)

    async def start(self) -> None:
        """Objections filed before contacts were encrypted at rest are encrypted now (idempotent)."""
        async with self.rt.db.transaction() as s:
            n = await usecases.encrypt_clear_contacts(ReviewStore(s), self.cipher)
        if n:
            logging.getLogger(__name__).info("encrypted %d objector contact(s) stored in clear", n)


SPEC = ServiceSpec(
    name="review",
    service_names=(review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,),
    build=ReviewApp,
)
