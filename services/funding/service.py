"""How funding is served: its servicer with the treasury adapter the settings select
(``rt.extras["treasury"]``; tests may put a fake of their own there before the first call)."""

from __future__ import annotations

from aicc.funding.v1 import funding_pb2, funding_pb2_grpc
from aicc.platform.server import Runtime, ServiceSpec
from services.funding.api import FundingServicer
from services.funding.domain.treasury import Treasury, treasury_from_settings


class _TreasuryOf:
    """Resolves the runtime's treasury on each call, so a replacement takes effect."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _get(self) -> Treasury:
        if "treasury" not in self.rt.extras:
            self.rt.extras["treasury"] = treasury_from_settings(self.rt.settings)
        return self.rt.extras["treasury"]

    async def pay(self, **kwargs):
        return await self._get().pay(**kwargs)


def _register(rt: Runtime, server) -> None:
    funding_pb2_grpc.add_FundingServiceServicer_to_server(FundingServicer(rt, _TreasuryOf(rt)), server)


SPEC = ServiceSpec(
    name="funding",
    service_names=(funding_pb2.DESCRIPTOR.services_by_name["FundingService"].full_name,),
    register=_register,
)
