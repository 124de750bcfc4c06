"""Shandong Province and its prefecture-level cities (GB/T 2260), loaded from ``aicc/platform/data/jurisdictions.yaml``.

The list is data, not code: see ``docs/data-formats.md`` for the file format. Static data every
process may need (identity validates city codes with it, review names cities in its exports), so
it lives in the platform.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import yaml

__all__ = [
    "LEVELS",
    "MERGED_PREFECTURES",
    "Jurisdiction",
    "city_for_division",
    "city_name",
    "get",
    "load_jurisdictions",
    "of_prefix",
]

LEVELS = ("province", "city")

#: Former prefecture codes → the prefecture that absorbed them. County-level codes under these
#: prefixes (still found in USCCs issued before the merger) resolve to the absorbing city.
MERGED_PREFECTURES: dict[str, str] = {
    # 莱芜市 (371200) was abolished in January 2019 (国函〔2018〕143号) and merged into 济南市;
    # its districts 莱城区 (371202) and 钢城区 (371203) became districts of Jinan.
    "371200": "370100",
}


@dataclass(frozen=True)
class Jurisdiction:
    code: str  # GB/T 2260, 6 digits
    name: str  # Chinese name, e.g. 青岛市
    name_en: str  # e.g. Qingdao
    level: str  # "province" | "city"


def _data_text() -> str:
    return resources.files("aicc.platform").joinpath("data", "jurisdictions.yaml").read_text("utf-8")


def _parse(text: str) -> tuple[Jurisdiction, ...]:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("jurisdictions"), list):
        raise ValueError("jurisdictions.yaml: expected a mapping with a 'jurisdictions' list")
    out: list[Jurisdiction] = []
    seen: set[str] = set()
    for n, item in enumerate(doc["jurisdictions"], start=1):
        if not isinstance(item, dict):
            raise ValueError(f"jurisdictions.yaml: entry {n} is not a mapping")
        missing = {"code", "name", "name_en", "level"} - item.keys()
        if missing:
            raise ValueError(f"jurisdictions.yaml: entry {n} lacks {sorted(missing)}")
        code = str(item["code"])
        if len(code) != 6 or not code.isdigit():
            raise ValueError(f"jurisdictions.yaml: entry {n} code {code!r} is not 6 digits")
        if code in seen:
            raise ValueError(f"jurisdictions.yaml: duplicate code {code}")
        if item["level"] not in LEVELS:
            raise ValueError(f"jurisdictions.yaml: entry {n} level {item['level']!r} not in {LEVELS}")
        seen.add(code)
        out.append(Jurisdiction(code, str(item["name"]), str(item["name_en"]), item["level"]))
    return tuple(out)


@functools.cache
def _cached() -> tuple[Jurisdiction, ...]:
    return _parse(_data_text())


@functools.cache
def _by_code() -> dict[str, Jurisdiction]:
    return {j.code: j for j in _cached()}


def load_jurisdictions() -> list[Jurisdiction]:
    """The province followed by its cities, in file order (parsed once, cached; a fresh list each call)."""
    return list(_cached())


def get(code: str) -> Jurisdiction:
    """The jurisdiction with exactly this GB/T 2260 code; KeyError if there is none."""
    try:
        return _by_code()[str(code)]
    except KeyError:
        raise KeyError(f"unknown jurisdiction code {code!r}") from None


def city_for_division(division_code: str) -> Jurisdiction | None:
    """The Shandong prefecture-level city a 6-digit division code belongs to.

    ``370102`` → 济南市 370100; ``370200`` → 青岛市; ``371202`` (former 莱芜) → 济南市.
    Returns None for malformed codes, codes outside Shandong, the province code itself (``370000``,
    i.e. registered at provincial level — no city) and unknown prefectures.
    """
    if not isinstance(division_code, str):
        return None
    d = division_code.strip()
    if len(d) != 6 or not d.isascii() or not d.isdigit():
        return None
    prefecture = d[:4] + "00"
    prefecture = MERGED_PREFECTURES.get(prefecture, prefecture)
    j = _by_code().get(prefecture)
    if j is None or j.level != "city":
        return None
    return j


def city_name(code: str) -> str:
    """The Chinese name of a jurisdiction code (``370200`` → 青岛市); the code itself when unknown."""
    j = _by_code().get(str(code))
    return j.name if j else str(code)


def of_prefix(prefix: str) -> Jurisdiction | None:
    """The jurisdiction a GB/T 2260 prefix (2, 4 or 6 digits) lies in: ``37`` → 山东省, ``3702`` →
    青岛市, ``370212`` (a county-level code) → 青岛市, ``370000`` → 山东省. None for a malformed prefix
    or one outside the province and its current cities (e.g. ``11``, or ``3712``: 莱芜, merged)."""
    if not isinstance(prefix, str) or len(prefix) not in (2, 4, 6) or not prefix.isascii():
        return None
    if not prefix.isdigit():
        return None
    exact = _by_code().get(prefix.ljust(6, "0"))
    if exact is not None:
        return exact
    return city_for_division(prefix) if len(prefix) == 6 else None
