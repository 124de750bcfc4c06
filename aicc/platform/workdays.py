"""Working-day arithmetic on the official PRC calendar (法定节假日与调休).

Backed by the ``chinese_calendar`` package, which ships the State Council's holiday
arrangements (国务院办公厅关于节假日安排的通知) year by year. The package only knows the
years whose arrangement has been published; for any other year this module REFUSES to
guess (a plain weekend-only count would silently be wrong around Spring Festival and
National Day) and raises :class:`WorkdayCalendarError`, unless the caller lists the year
in ``extra_known_years`` — an explicit, audited decision to count Monday–Friday only.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from functools import lru_cache

import chinese_calendar as _cc

from aicc.platform.clock import SHANGHAI

__all__ = [
    "WorkdayCalendarError",
    "add_working_days",
    "deadline_after",
    "is_working_day",
    "known_years",
]


class WorkdayCalendarError(ValueError):
    """The official holiday calendar for ``year`` is not known to this installation."""

    def __init__(self, year: int, known: tuple[int, int] | None = None) -> None:
        self.year = year
        rng = f" (known: {known[0]}–{known[1]})" if known else ""
        super().__init__(
            f"The official holiday calendar for {year} is not known{rng}; cannot count working days "
            f"in {year}. Upgrade the chinese-calendar package once the State Council publishes the "
            f"{year} arrangement, or pass the year in extra_known_years to count Monday–Friday only. / "
            f"{year}年法定节假日安排未知，无法计算{year}年的工作日；请在国务院公布安排后升级 chinese-calendar，"
            f"或将该年份列入 extra_known_years 以仅按周一至周五计算。"
        )


@lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """Inclusive range of years whose official arrangement the installed package knows."""
    years = [d.year for d in _cc.holidays] + [d.year for d in _cc.workdays]
    return min(years), max(years)


def _check_year(year: int, extra: frozenset[int]) -> bool:
    """True if ``year`` is counted weekends-only (listed in extra); raises if unknown."""
    lo, hi = known_years()
    if lo <= year <= hi:
        return False
    if year in extra:
        return True
    raise WorkdayCalendarError(year, (lo, hi))


def is_working_day(d: _dt.date, *, extra_known_years: Iterable[int] = ()) -> bool:
    """Whether ``d`` is an official working day (adjusted Saturdays/Sundays included)."""
    if isinstance(d, _dt.datetime):
        d = d.date()
    if _check_year(d.year, frozenset(extra_known_years)):
        return d.weekday() < 5
    return bool(_cc.is_workday(d))


def add_working_days(start: _dt.date, n: int, *, extra_known_years: Iterable[int] = ()) -> _dt.date:
    """The date ``n`` working days after ``start`` (``start`` itself is not counted).

    ``n == 0`` returns ``start`` unchanged; a negative ``n`` counts backwards. Every day
    stepped over must lie in a year whose calendar is known (or listed in
    ``extra_known_years``, where Monday–Friday are working days), otherwise
    :class:`WorkdayCalendarError` is raised naming that year.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if isinstance(start, _dt.datetime):
        start = start.date()
    if not isinstance(start, _dt.date):
        raise TypeError("start must be a datetime.date")
    extra = frozenset(int(y) for y in extra_known_years)
    step = _dt.timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    d = start
    checked_year: int | None = None
    weekends_only = False
    while remaining:
        d = d + step
        if d.year != checked_year:
            weekends_only = _check_year(d.year, extra)
            checked_year = d.year
        working = d.weekday() < 5 if weekends_only else _cc.is_workday(d)
        if working:
            remaining -= 1
    return d


def deadline_after(start: _dt.datetime, *, seconds: float = 0.0, working_days: int = 0) -> _dt.datetime:
    """The deadline a policy duration sets from ``start``: ``working_days`` official working days
    later at the same Beijing time of day (the days counted in Asia/Shanghai), else ``seconds`` later.
    The one rule for every deadline of a cycle (intake fixing a call's dates, the workflow timing a
    phase)."""
    if start.tzinfo is None:
        raise ValueError("naive datetime: give an aware instant")
    if working_days:
        local = start.astimezone(SHANGHAI)
        day = add_working_days(local.date(), working_days)
        return _dt.datetime.combine(day, local.timetz()).astimezone(_dt.UTC)
    return start + _dt.timedelta(seconds=seconds)
