"""Expert panels (Art. 9): who must step aside from which application (回避), and the seeded,
reproducible draw of a panel from the eligible pool. Pure: no I/O, no clock, no global randomness.

An expert is in conflict with an application when, towards the applicant enterprise or its
operating organisation (Art. 5(3)):

- their current employer (``employer_organization_id``) is that organisation;
- they were employed by it at the draw date or within ``lookback_years`` before it;
- they hold shares in it (no period: a shareholding is a standing interest);
- they consulted for it at the draw date or within ``lookback_years`` before it.

The draw: for each application in application-id order, the eligible experts (active, no
conflict, below the load cap) are taken in user-id order, shuffled by ``random.Random(seed)``
and the least-loaded of them form the panel, so the same seed, pool and candidates always give the same panels — an auditor
can re-run it. A replacement after a recusal uses ``Random(seed + recusal_number)``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

APPLICANT = "applicant"
OPERATOR = "operator"
SELF_DECLARED = "self_declared"
MAX_LOAD_REACHED = "max_load_reached"


@dataclass(frozen=True)
class Period:
    """A dated relation to an organisation; ``end`` None = still ongoing; ``start`` None = unknown."""

    organization_id: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class ExpertProfile:
    user_id: str
    employer_organization_id: str = ""
    employment: tuple[Period, ...] = ()
    shareholdings: tuple[str, ...] = ()
    consulting: tuple[Period, ...] = ()
    active: bool = True
    # The name officials' documents show (never the internal id); not a conflict rule.
    display_name: str = ""

    def to_jsonable(self) -> dict[str, Any]:
        def per(p: Period) -> dict[str, Any]:
            return {
                "organization_id": p.organization_id,
                "start": p.start.isoformat() if p.start else None,
                "end": p.end.isoformat() if p.end else None,
            }

        return {
            "user_id": self.user_id,
            "employer_organization_id": self.employer_organization_id,
            "employment": [per(p) for p in self.employment],
            "shareholdings": list(self.shareholdings),
            "consulting": [per(p) for p in self.consulting],
            "active": self.active,
            "display_name": self.display_name,
        }

    @classmethod
    def from_jsonable(cls, data: Mapping[str, Any]) -> ExpertProfile:
        def per(d: Mapping[str, Any]) -> Period:
            return Period(
                d["organization_id"],
                date.fromisoformat(d["start"]) if d.get("start") else None,
                date.fromisoformat(d["end"]) if d.get("end") else None,
            )

        return cls(
            user_id=data["user_id"],
            employer_organization_id=data.get("employer_organization_id") or "",
            employment=tuple(per(p) for p in data.get("employment") or ()),
            shareholdings=tuple(data.get("shareholdings") or ()),
            consulting=tuple(per(p) for p in data.get("consulting") or ()),
            active=bool(data.get("active", True)),
            display_name=str(data.get("display_name") or ""),
        )


@dataclass(frozen=True)
class Party:
    """An application under review and the organisations an expert must be independent of."""

    application_id: str
    organization_id: str
    operator_organization_id: str = ""

    def organizations(self) -> list[tuple[str, str]]:
        out = [(APPLICANT, self.organization_id)]
        if self.operator_organization_id and self.operator_organization_id != self.organization_id:
            out.append((OPERATOR, self.operator_organization_id))
        return [(role, org) for role, org in out if org]


@dataclass(frozen=True)
class Exclusion:
    application_id: str
    expert_user_id: str
    reason: str


@dataclass(frozen=True)
class Draw:
    # (application_id, expert_user_id) in draw order.
    assignments: list[tuple[str, str]]
    exclusions: list[Exclusion]
    # application_id -> how many experts it got, for panels smaller than the policy's size.
    short_panels: dict[str, int] = field(default_factory=dict)


class NotEnoughExperts(Exception):
    """No eligible expert is left for an application."""

    def __init__(self, application_id: str) -> None:
        super().__init__(application_id)
        self.application_id = application_id


def years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February in a non-leap target year
        return d.replace(year=d.year - years, day=28)


def _within(p: Period, on: date, lookback_years: int) -> bool:
    """The period touches [on - lookback_years, on]."""
    cutoff = years_before(on, lookback_years)
    started = p.start is None or p.start <= on
    not_ended_before = p.end is None or p.end >= cutoff
    return started and not_ended_before


def conflicts(expert: ExpertProfile, party: Party, *, on: date, lookback_years: int) -> list[str]:
    """Every reason this expert must not review this application (empty = no conflict)."""
    n = lookback_years
    reasons: list[str] = []
    for role, org in party.organizations():
        if expert.employer_organization_id == org:
            reasons.append(f"employer_is_{role}")
        if any(p.organization_id == org and _within(p, on, n) for p in expert.employment):
            reasons.append(f"employed_by_{role}_within_{n}y")
        if org in expert.shareholdings:
            reasons.append(f"shareholder_of_{role}")
        if any(p.organization_id == org and _within(p, on, n) for p in expert.consulting):
            reasons.append(f"consultant_to_{role}_within_{n}y")
    return reasons


def _sorted_pool(pool: Iterable[ExpertProfile]) -> list[ExpertProfile]:
    return sorted((e for e in pool if e.active), key=lambda e: e.user_id)


def draw_panels(
    pool: Iterable[ExpertProfile],
    parties: Iterable[Party],
    *,
    size: int,
    max_load: int,
    on: date,
    lookback_years: int,
    seed: int,
) -> Draw:
    """Draw a panel of ``size`` for each party. Raises :class:`NotEnoughExperts` naming the first
    application for which no expert at all is eligible."""
    experts = _sorted_pool(pool)
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw from the recorded seed (GetPanelDraw)
    load: Counter[str] = Counter()
    assignments: list[tuple[str, str]] = []
    exclusions: list[Exclusion] = []
    short: dict[str, int] = {}
    for party in sorted(parties, key=lambda p: p.application_id):
        available: list[str] = []
        for e in experts:
            reasons = conflicts(e, party, on=on, lookback_years=lookback_years)
            if reasons:
                exclusions.append(Exclusion(party.application_id, e.user_id, ",".join(reasons)))
            elif load[e.user_id] >= max_load:
                exclusions.append(Exclusion(party.application_id, e.user_id, MAX_LOAD_REACHED))
            else:
                available.append(e.user_id)
        if not available:
            raise NotEnoughExperts(party.application_id)
        # Random order among the eligible, then the least-loaded first: panels stay full as long
        # as the pool allows and work is spread evenly.
        order = rng.sample(available, len(available))
        order.sort(key=lambda uid: load[uid])
        chosen = order[:size]
        if len(chosen) < size:
            short[party.application_id] = len(chosen)
        for uid in chosen:
            load[uid] += 1
            assignments.append((party.application_id, uid))
    return Draw(assignments, exclusions, short)


def draw_replacement(
    pool: Iterable[ExpertProfile],
    party: Party,
    *,
    already_on_application: Iterable[str],
    load: Mapping[str, int],
    max_load: int,
    on: date,
    lookback_years: int,
    seed: int,
    recusal_number: int,
) -> str | None:
    """One replacement for a recused expert, or None when nobody eligible is left. Experts who were
    ever on this application's panel (including the one recusing) are not drawn again."""
    taken = set(already_on_application)
    eligible = [
        e.user_id
        for e in _sorted_pool(pool)
        if e.user_id not in taken
        and load.get(e.user_id, 0) < max_load
        and not conflicts(e, party, on=on, lookback_years=lookback_years)
    ]
    if not eligible:
        return None
    order = random.Random(seed + recusal_number).sample(eligible, len(eligible))  # noqa: S311 - reproducible
    return min(order, key=lambda uid: load.get(uid, 0))
