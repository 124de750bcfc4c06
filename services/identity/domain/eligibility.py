"""Art. 5 hard eligibility rules (资格条件), as pure functions over facts supplied by the caller.

Rules checked by :func:`evaluate_eligibility` (``Failure.rule``):

* ``enterprise``            — the applicant is an enterprise (Art. 5(1));
* ``legal_person``          — able to bear civil liability independently, i.e. a legal person (Art. 5(1)),
                              when the policy requires it;
* ``registered_in_region``  — the USCC is valid and its division code (positions 3-8) lies in the
                              programme's region, Shandong by default, a city's under a city policy
                              (Art. 18, scope of the measures);
* ``no_serious_dishonesty`` — no 严重失信 record whose period intersects the ``lookback_years`` years
                              before the reference date (Art. 5(1)); one failure per offending record;
* ``green_threshold``       — the 绿色门槛 is met as of the reference date (Art. 5(1)); a missing
                              status, or one dated after the reference date, fails when required.

The numbers and the territory are the cycle's policy's (:class:`EligibilityRules`, its eligibility
section); the province's defaults (:data:`PROVINCE_DEFAULTS`) apply when a caller names none. The
failure messages cite them.

The attested/judged parts of Art. 5(2)-(3) are for reviewers and are not checked here.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from aicc.platform import jurisdictions
from services.identity.domain.uscc import check_uscc, division_code

__all__ = [
    "MAX_LOOKBACK_YEARS",
    "PROVINCE_DEFAULTS",
    "SERIOUS_DISHONESTY",
    "CreditRecord",
    "EligibilityRules",
    "Failure",
    "GreenThresholdStatus",
    "OrgFacts",
    "evaluate_eligibility",
    "evaluate_under",
    "lookback_start",
]

SERIOUS_DISHONESTY = "serious_dishonesty"
ART_5_1 = "Art. 5(1)"
ART_18 = "Art. 18"


MAX_LOOKBACK_YEARS = 10


@dataclass(frozen=True)
class EligibilityRules:
    """A policy's eligibility section (Art. 5(1); a city's policy may differ, Art. 18)."""

    require_legal_person: bool = True
    require_green_threshold: bool = True
    serious_dishonesty_lookback_years: int = 3
    # GB/T 2260 prefix the applicant must be registered under: "37" Shandong, "3702" Qingdao.
    division_prefix: str = "37"


PROVINCE_DEFAULTS = EligibilityRules()


@dataclass(frozen=True)
class CreditRecord:
    organization_id: str
    severity: str  # "serious_dishonesty" counts for Art. 5(1); anything else is ignored
    start_date: date
    end_date: date | None  # None = still in force (open-ended)
    source: str  # e.g. "信用中国"
    reference: str  # document / listing number at the source


@dataclass(frozen=True)
class GreenThresholdStatus:
    organization_id: str
    meets: bool
    as_of: date
    source: str


@dataclass(frozen=True)
class OrgFacts:
    organization_id: str
    kind: str  # "enterprise", "institution", ...
    legal_person: bool
    uscc: str


@dataclass(frozen=True)
class Failure:
    rule: str
    article: str
    message: str
    message_zh: str


def lookback_start(as_of: date, years: int) -> date:
    """``as_of`` minus ``years`` calendar years. A 29 February with no counterpart becomes 28 February
    (the month's last day, as in 民法典 Art. 202), which keeps the window at least ``years`` long."""
    y = as_of.year - years
    day = min(as_of.day, calendar.monthrange(y, as_of.month)[1])
    return date(y, as_of.month, day)


def _region_name(prefix: str) -> tuple[str, str]:
    """The territory a division prefix designates: 山东省, 青岛市, or a county-level code in its city."""
    j = jurisdictions.of_prefix(prefix)
    if j is None:
        return f"region {prefix}*", f"{prefix}*地区"
    if j.code == prefix.ljust(6, "0"):
        return j.name_en, j.name
    return f"division {prefix} of {j.name_en}", f"{j.name}行政区划 {prefix}"


def _fmt_period(r: CreditRecord) -> tuple[str, str]:
    end_en = r.end_date.isoformat() if r.end_date else "open-ended"
    end_zh = r.end_date.isoformat() if r.end_date else "至今（未移出）"
    return f"{r.start_date.isoformat()} to {end_en}", f"{r.start_date.isoformat()} 至 {end_zh}"


def _legal_form(org: OrgFacts, require_legal_person: bool) -> list[Failure]:
    """Art. 5(1): an enterprise able to bear civil liability independently (the latter when required)."""
    failures: list[Failure] = []
    if org.kind != "enterprise":
        failures.append(
            Failure(
                "enterprise",
                ART_5_1,
                f"applicant must be an enterprise, but is registered as {org.kind!r} ({ART_5_1})",
                f"申报主体须为企业，当前主体类型为“{org.kind}”（第五条第一项）",
            )
        )
    # … able to bear civil liability independently.
    if require_legal_person and not org.legal_person:
        failures.append(
            Failure(
                "legal_person",
                ART_5_1,
                f"applicant must be a legal person able to bear civil liability independently ({ART_5_1})",
                "申报主体须为能够独立承担民事责任的法人（第五条第一项）",
            )
        )
    return failures


def _registered_in_region(org: OrgFacts, division_prefix: str) -> list[Failure]:
    """Registered in the programme's region according to the USCC division code (Art. 18)."""
    failures: list[Failure] = []
    region_en, region_zh = _region_name(division_prefix)
    problems = check_uscc(org.uscc) if isinstance(org.uscc, str) else None
    if problems is None or problems:
        detail = "; ".join(p.message for p in problems) if problems else "missing"
        detail_zh = "；".join(p.message_zh for p in problems) if problems else "缺失"
        failures.append(
            Failure(
                "registered_in_region",
                ART_18,
                f"unified social credit code {org.uscc!r} is invalid ({detail}); registration in "
                f"{region_en} cannot be established ({ART_18})",
                f"统一社会信用代码“{org.uscc}”无效（{detail_zh}），无法确认注册地在{region_zh}（第十八条）",
            )
        )
    else:
        div = division_code(org.uscc)
        if not div.startswith(division_prefix):
            failures.append(
                Failure(
                    "registered_in_region",
                    ART_18,
                    f"applicant is not registered in {region_en}: division code {div} of unified social "
                    f"credit code {org.uscc} does not start with {division_prefix} ({ART_18})",
                    f"申报主体注册地不在{region_zh}：统一社会信用代码 {org.uscc} 的行政区划码 {div} "
                    f"不以 {division_prefix} 开头（第十八条）",
                )
            )
    return failures


def _credit(
    org: OrgFacts, as_of: date, credit_records: Sequence[CreditRecord], lookback_years: int
) -> list[Failure]:
    """Art. 5(1): no serious dishonesty record in the last ``lookback_years`` years."""
    failures: list[Failure] = []
    window_start = lookback_start(as_of, lookback_years)
    for r in credit_records:
        if r.end_date is not None and r.end_date < r.start_date:
            raise ValueError(
                f"credit record {r.reference!r} ends ({r.end_date}) before it starts ({r.start_date})"
            )
        if r.organization_id != org.organization_id or r.severity != SERIOUS_DISHONESTY:
            continue
        end = r.end_date if r.end_date is not None else date.max
        if r.start_date <= as_of and end >= window_start:
            period_en, period_zh = _fmt_period(r)
            failures.append(
                Failure(
                    "no_serious_dishonesty",
                    ART_5_1,
                    f"serious dishonesty record {r.reference} from {r.source} ({period_en}) falls within "
                    f"the {lookback_years} years before {as_of.isoformat()} "
                    f"({window_start.isoformat()} to {as_of.isoformat()}) ({ART_5_1})",
                    f"{r.source} 严重失信记录 {r.reference}（{period_zh}）处于 {as_of.isoformat()} 前{lookback_years}年内"
                    f"（{window_start.isoformat()} 至 {as_of.isoformat()}）（第五条第一项）",
                )
            )
    return failures


def _green_threshold(org: OrgFacts, as_of: date, green: GreenThresholdStatus | None) -> list[Failure]:
    """Art. 5(1): the green threshold for enterprise-related fiscal funds."""
    failures: list[Failure] = []
    if green is not None and green.organization_id != org.organization_id:
        raise ValueError(
            f"green-threshold status is for {green.organization_id!r}, not {org.organization_id!r}"
        )
    if green is None:
        failures.append(
            Failure(
                "green_threshold",
                ART_5_1,
                f"no green-threshold status on record as of {as_of.isoformat()} ({ART_5_1})",
                f"截至 {as_of.isoformat()} 无绿色门槛认定记录（第五条第一项）",
            )
        )
    elif green.as_of > as_of:
        failures.append(
            Failure(
                "green_threshold",
                ART_5_1,
                f"green-threshold status from {green.source} is dated {green.as_of.isoformat()}, after "
                f"the reference date {as_of.isoformat()}; no status as of the reference date ({ART_5_1})",
                f"{green.source} 绿色门槛认定日期 {green.as_of.isoformat()} 晚于基准日 {as_of.isoformat()}，"
                f"基准日无有效认定（第五条第一项）",
            )
        )
    elif not green.meets:
        failures.append(
            Failure(
                "green_threshold",
                ART_5_1,
                f"green threshold not met according to {green.source} as of {green.as_of.isoformat()} "
                f"({ART_5_1})",
                f"据 {green.source}，截至 {green.as_of.isoformat()} 未达到绿色门槛（第五条第一项）",
            )
        )
    return failures


def evaluate_eligibility(
    org: OrgFacts,
    *,
    as_of: date,
    credit_records: Sequence[CreditRecord],
    green: GreenThresholdStatus | None,
    lookback_years: int = PROVINCE_DEFAULTS.serious_dishonesty_lookback_years,
    division_prefix: str = PROVINCE_DEFAULTS.division_prefix,
    require_green: bool = PROVINCE_DEFAULTS.require_green_threshold,
    require_legal_person: bool = PROVINCE_DEFAULTS.require_legal_person,
) -> list[Failure]:
    """Every failed Art. 5 hard rule for ``org`` at reference date ``as_of`` (empty list = eligible).

    ``credit_records`` may contain other organisations' records; only ``org.organization_id``'s count.
    Raises ValueError for inconsistent input (a record ending before it starts, a green status of
    another organisation, a negative look-back).
    """
    if lookback_years < 0:
        raise ValueError("lookback_years must be >= 0")
    return [
        *_legal_form(org, require_legal_person),
        *_registered_in_region(org, division_prefix),
        *_credit(org, as_of, credit_records, lookback_years),
        *(_green_threshold(org, as_of, green) if require_green else []),
    ]


def evaluate_under(
    org: OrgFacts,
    rules: EligibilityRules,
    *,
    as_of: date,
    credit_records: Sequence[CreditRecord],
    green: GreenThresholdStatus | None,
) -> list[Failure]:
    """:func:`evaluate_eligibility` under a policy's eligibility section."""
    return evaluate_eligibility(
        org,
        as_of=as_of,
        credit_records=credit_records,
        green=green,
        lookback_years=rules.serious_dishonesty_lookback_years,
        division_prefix=rules.division_prefix,
        require_green=rules.require_green_threshold,
        require_legal_person=rules.require_legal_person,
    )
