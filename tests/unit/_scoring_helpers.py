"""Helpers shared by the scoring tests: build sheets with chosen totals / dimension subtotals."""

import datetime as dt
from decimal import Decimal

from aicc.platform.policy import find_policy
from services.review.domain.scoring import Candidate

POLICY = find_policy("shandong-2026")
TZ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=TZ)


def fill(indicator_ids, amount: Decimal, policy=POLICY) -> dict[str, Decimal]:
    """Greedy fill: each indicator up to its max until ``amount`` is used up."""
    out, left = {}, Decimal(amount)
    for iid in indicator_ids:
        take = min(policy.indicator(iid).max_points, left)
        out[iid] = take
        left -= take
    assert left == 0, f"cannot place {amount}"
    return out


def sheet(total, policy=POLICY) -> dict[str, Decimal]:
    return fill(policy.indicator_ids(), Decimal(str(total)), policy)


def sheet_dims(policy=POLICY, **dims) -> dict[str, Decimal]:
    """sheet_dims(d1=15, d2=30, ...) — unspecified dimensions score 0."""
    out = {}
    for dim in policy.dimensions():
        ids = [r.id for r in policy.indicator_refs() if r.dimension == dim]
        out.update(fill(ids, Decimal(str(dims.get(f"d{dim}", 0))), policy))
    return out


def cand(app_id, minutes=0, enterprise=None, city="济南市") -> Candidate:
    return Candidate(app_id, enterprise or f"企业{app_id}", city, T0 + dt.timedelta(minutes=minutes))


def panel(*totals) -> dict[str, dict[str, Decimal]]:
    return {f"E{i + 1}": sheet(t) for i, t in enumerate(totals)}
