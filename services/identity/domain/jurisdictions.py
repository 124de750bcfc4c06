"""Shandong jurisdictions: the loader and its data live in :mod:`aicc.platform.jurisdictions`
(static data shared with other services); re-exported here for identity's domain code."""

from __future__ import annotations

from aicc.platform.jurisdictions import (  # noqa: F401 - re-exports
    LEVELS,
    MERGED_PREFECTURES,
    Jurisdiction,
    city_for_division,
    city_name,
    get,
    load_jurisdictions,
)

__all__ = [
    "LEVELS",
    "MERGED_PREFECTURES",
    "Jurisdiction",
    "city_for_division",
    "city_name",
    "get",
    "load_jurisdictions",
]
