"""A programme policy file (政策配置文件): the rules of one award programme, as data.

The measures (管理办法及实施细则) fix the process but leave weights, thresholds, quota, caps and
dates to configuration; Art. 18 lets each city adopt its own rules by reference. A policy file
is YAML with exactly the keys of :class:`Policy` (unknown keys are refused at every level).
:func:`load_policy_text` reports EVERY problem in a file at once as :class:`PolicyError`,
each with its path in the file ("tiers[1].min_score") and, where known, its line number.

The package, from the bottom up: :mod:`.errors` (PolicyError, paths and lines of problems),
:mod:`.durations` (ISO-8601 and working-day lengths), :mod:`.coercions` (the strict value types),
:mod:`.sections` (each part of the file), :mod:`.model` (:class:`Policy` and its validation) and
:mod:`.loading` (YAML, files, the shipped policies). Import from here, not from the modules.
"""

from aicc.platform.policy.durations import Duration
from aicc.platform.policy.errors import PolicyError
from aicc.platform.policy.loading import (
    PolicyNotFound,
    default_policy_dir,
    find_policy,
    load_policy_file,
    load_policy_text,
)
from aicc.platform.policy.model import IndicatorRef, Policy
from aicc.platform.policy.sections import (
    Dimension,
    Eligibility,
    FundUseCategory,
    Indicator,
    Panel,
    PerformanceTarget,
    Publication,
    Schedule,
    Scoring,
    Tier,
)

__all__ = [
    "Dimension",
    "Duration",
    "Eligibility",
    "FundUseCategory",
    "Indicator",
    "IndicatorRef",
    "Panel",
    "PerformanceTarget",
    "Policy",
    "PolicyError",
    "PolicyNotFound",
    "Publication",
    "Schedule",
    "Scoring",
    "Tier",
    "default_policy_dir",
    "find_policy",
    "load_policy_file",
    "load_policy_text",
]
