"""Fakes of review's outbound ports (services/review/domain/ports.py): identity's expert pool and
intake's recommended applications in memory, for use-case tests; and a stand-in intake server for
tests of review's gRPC adapter over real gRPC."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from aicc.intake.v1 import intake_pb2, intake_pb2_grpc
from aicc.platform.errors import Unavailable
from services.review.domain.model import Candidate
from services.review.domain.panels import ExpertProfile, Period


def unreachable() -> Unavailable:
    """What review's adapters raise for a service that cannot be reached."""
    return Unavailable(
        "a service this request depends on is unavailable; try again shortly",
        "本请求依赖的服务暂不可用，请稍后重试",
        reason="DEPENDENCY_UNAVAILABLE",
    )


@dataclass
class FakeExpertRegistry:
    """Identity's expert pool in memory. ``unavailable_times``: that many calls fail first as an
    unreachable identity does; ``calls`` counts every call."""

    pool: list[ExpertProfile] = field(default_factory=list)
    unavailable_times: int = 0
    calls: int = 0

    def expert(
        self,
        user_id: str,
        *,
        employer: str = "org_univ",
        employed_by: tuple[Period, ...] = (),
        shares_in: tuple[str, ...] = (),
        active: bool = True,
        name: str = "",
    ) -> ExpertProfile:
        e = ExpertProfile(user_id, employer, employed_by, shares_in, (), active, name)
        self.pool.append(e)
        return e

    async def experts(self) -> list[ExpertProfile]:
        self.calls += 1
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise unreachable()
        return list(self.pool)


@dataclass
class FakeIntakeApplications:
    """Intake's recommended applications in memory (review's ``IntakeApplications`` port), by
    cycle. ``unavailable_times``: that many calls fail first as an unreachable intake does;
    ``calls`` lists the cycles asked for."""

    recommended_by_cycle: dict[str, list[Candidate]] = field(default_factory=dict)
    unavailable_times: int = 0
    calls: list[str] = field(default_factory=list)

    async def recommended(self, cycle_id: str) -> list[Candidate]:
        self.calls.append(cycle_id)
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise unreachable()
        return list(self.recommended_by_cycle.get(cycle_id, []))


class FakeIntakeServer(intake_pb2_grpc.IntakeServiceServicer):
    """Intake's ListApplications and GetApplication over real gRPC, for review's adapter: the
    applications given, ``page_size`` a page (AIP-158 tokens), listed WITHOUT their materials as
    intake lists them (GetApplication carries them). Records each call's method, request and
    authorization header; ``down`` answers UNAVAILABLE."""

    def __init__(self, applications: list[intake_pb2.Application], *, page_size: int = 2) -> None:
        self.applications = applications
        self.page_size = page_size
        self.calls: list[tuple[str, object, str]] = []
        self.down = False

    def _record(self, method: str, request: object, context: grpc.aio.ServicerContext) -> None:
        auth = dict(context.invocation_metadata() or ()).get("authorization", "")
        self.calls.append((method, request, str(auth)))

    async def ListApplications(self, request, context):
        self._record("ListApplications", request, context)
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "intake is down")
        wanted = [
            a
            for a in self.applications
            if a.cycle_id == request.cycle_id and (not request.status or a.status == request.status)
        ]
        start = int(request.page_token or 0)
        end = start + self.page_size
        page = []
        for a in wanted[start:end]:
            listed = intake_pb2.Application()
            listed.CopyFrom(a)
            del listed.materials[:]
            page.append(listed)
        return intake_pb2.ListApplicationsResponse(
            applications=page, next_page_token=str(end) if end < len(wanted) else ""
        )

    async def GetApplication(self, request, context):
        self._record("GetApplication", request, context)
        found = next((a for a in self.applications if a.application_id == request.application_id), None)
        if found is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such application")
        return intake_pb2.GetApplicationResponse(application=found)


async def serve_fake_intake(address: str, fake: FakeIntakeServer) -> grpc.aio.Server:
    """Serves ``fake`` where the suite's intake would listen (plaintext, as the suite's dev mode)."""
    server = grpc.aio.server()
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(fake, server)
    server.add_insecure_port(address)
    await server.start()
    return server
