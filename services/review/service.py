"""How review is served: its servicer; tokens are verified with identity's published keys."""

from __future__ import annotations

from aicc.platform.server import Runtime, ServiceSpec
from aicc.review.v1 import review_pb2, review_pb2_grpc
from services.review.api import ReviewServicer


def _register(rt: Runtime, server) -> None:
    review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(rt), server)


SPEC = ServiceSpec(
    name="review",
    service_names=(review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name,),
    register=_register,
)
