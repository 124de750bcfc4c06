"""Fakes of review's outbound ports (services/review/domain/ports.py) for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from aicc.platform.errors import Unavailable
from services.review.domain.panels import ExpertProfile, Period


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
    ) -> ExpertProfile:
        e = ExpertProfile(user_id, employer, employed_by, shares_in, (), active)
        self.pool.append(e)
        return e

    async def experts(self) -> list[ExpertProfile]:
        self.calls += 1
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise Unavailable(
                "a service this request depends on is unavailable; try again shortly",
                "本请求依赖的服务暂不可用，请稍后重试",
                reason="DEPENDENCY_UNAVAILABLE",
            )
        return list(self.pool)
