"""How review is served: its servicer (with the SM4-GCM cipher for objectors' contacts at rest);
tokens are verified with identity's published keys."""

from __future__ import annotations

import logging

from aicc.platform.crypto import runtime_cipher
from aicc.platform.server import Runtime, ServiceSpec
from aicc.review.v1 import review_pb2, review_pb2_grpc
from services.review.api import ReviewServicer
from services.review.domain import usecases
from services.review.store import ReviewStore


def _register(rt: Runtime, server) -> None:
    review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(rt, runtime_cipher(rt)), server)


async def _encrypt_clear_contacts(rt: Runtime) -> None:
    """Objections filed before contacts were encrypted at rest are encrypted now (idempotent)."""
    async with rt.db.transaction() as s:
        n = await usecases.encrypt_clear_contacts(ReviewStore(s), runtime_cipher(rt))
    if n:
        logging.getLogger(__name__).info("encrypted %d objector contact(s) stored in clear", n)


SPEC = ServiceSpec(
    name="review",
    service_names=(review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,),
    register=_register,
    on_start=_encrypt_clear_contacts,
)
