"""Working-day arithmetic on the official PRC calendar (法定节假日与调休).

Two sources, consulted in this order for each year:

1. the province's calendar files, ``<year>.yaml`` in the calendar directory — ``AICC_CALENDAR_DIR``
   (read at every call, so a file added while a cycle waits is used when it resumes), by default
   ``policies/calendars/`` (the copy the wheel ships as ``aicc/policies/calendars/``). Each file
   transcribes one State Council notice and is validated by :mod:`aicc.platform.calendars`; an
   invalid file is refused naming the file and every problem (:class:`InvalidCalendarFile`), never
   skipped;
2. the ``chinese_calendar`` package, which ships the arrangements published before its release.

A year in neither is REFUSED (a plain weekend-only count would silently be wrong around Spring
Festival and National Day): :class:`WorkdayCalendarError` names the file to add, unless the caller
lists the year in ``extra_known_years`` — an explicit, audited decision to count Monday–Friday only.
Parsed files are cached by path, modification time and size.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import chinese_calendar as _cc

from aicc.platform.calendars import CalendarFile, CalendarFileError, load_calendar_file
from aicc.platform.clock import SHANGHAI
from aicc.platform.errors import FailedPrecondition

__all__ = [
    "CALENDAR_DIR_ENV",
    "InvalidCalendarFile",
    "WorkdayCalendarError",
    "add_working_days",
    "calendar_dir",
    "deadline_after",
    "default_calendar_dir",
    "is_working_day",
    "known_years",
    "refusal",
]

CALENDAR_DIR_ENV = "AICC_CALENDAR_DIR"


def default_calendar_dir() -> Path:
    """``calendars/`` beside the shipped policies (the checkout's ``policies/calendars/``)."""
    from aicc.platform.policy import default_policy_dir  # the policy package locates the shipped files

    return default_policy_dir() / "calendars"


def calendar_dir() -> Path:
    """The calendar directory in force now: ``AICC_CALENDAR_DIR``, else the shipped one."""
    configured = os.environ.get(CALENDAR_DIR_ENV, "").strip()
    return Path(configured) if configured else default_calendar_dir()


def _file_to_add(directory: Path, year: int) -> str:
    """How to name the missing file to a person: the repository path for the shipped directory."""
    if directory == default_calendar_dir() and directory.parent.parent.joinpath("pyproject.toml").is_file():
        return f"policies/calendars/{year}.yaml"
    return str(directory / f"{year}.yaml")


class WorkdayCalendarError(ValueError):
    """The official holiday calendar for ``year`` is not known to this installation; ``file`` is
    the calendar file that would make it known; ``en`` and ``zh`` say so to a person."""

    reason = "NO_WORKDAY_CALENDAR"

    def __init__(
        self, year: int, known: tuple[int, int] | None = None, *, directory: Path | None = None
    ) -> None:
        self.year = year
        self.file = _file_to_add(directory if directory is not None else calendar_dir(), year)
        rng = f" (known: {known[0]}–{known[1]})" if known else ""
        self.en = (
            f"The official holiday calendar for {year} is not known{rng}; cannot count working days in "
            f"{year}. Add {self.file}, transcribing the State Council's {year} holiday arrangement "
            f"(check it with `aicc calendar check`; in the Helm chart: calendars.extra), then resume."
        )
        self.zh = (
            f"{year}年法定节假日安排未知，无法计算{year}年的工作日；请按国务院办公厅{year}年部分节假日安排的通知"
            f"添加 {self.file}（可用 aicc calendar check 校验；Helm 部署见 calendars.extra），然后恢复。"
        )
        super().__init__(f"{self.en} / {self.zh}")


class InvalidCalendarFile(WorkdayCalendarError):
    """The calendar file for ``year`` exists but is invalid: ``problems`` says why."""

    reason = "INVALID_WORKDAY_CALENDAR"

    def __init__(self, year: int, error: CalendarFileError) -> None:
        self.year = year
        self.file = error.source
        self.problems = list(error.problems)
        listed = "; ".join(error.problems)
        self.en = (
            f"The working-day calendar file {error.source} for {year} is invalid: {listed}. Fix it "
            f"(`aicc calendar check {error.source}`), then resume."
        )
        self.zh = (
            f"{year}年工作日历文件 {error.source} 无效：{listed}。请修正后（aicc calendar check 校验）恢复。"
        )
        ValueError.__init__(self, f"{self.en} / {self.zh}")


def refusal(e: WorkdayCalendarError) -> FailedPrecondition:
    """The domain error for a count that needs a calendar a person must add or fix (intake's
    CreateCycle, the worker's deadline activity): FAILED_PRECONDITION naming the year and the file."""
    return FailedPrecondition(e.en, e.zh, reason=e.reason, metadata={"year": str(e.year), "file": e.file})


@lru_cache(maxsize=1)
def _package_years() -> tuple[int, int]:
    """Inclusive range of years whose official arrangement the installed package knows."""
    years = [d.year for d in _cc.holidays] + [d.year for d in _cc.workdays]
    return min(years), max(years)


def _file_years(directory: Path) -> set[int]:
    if not directory.is_dir():
        return set()
    return {int(p.stem) for p in directory.glob("[0-9][0-9][0-9][0-9].yaml")}


def known_years() -> tuple[int, int]:
    """Inclusive range of years whose working days can be counted: the package's years extended by
    the calendar files that continue them (a file for 2027 after the package's 2026 makes it
    2004–2027; a file for a year after a gap does not widen the range, but is still used)."""
    lo, hi = _package_years()
    files = _file_years(calendar_dir())
    while hi + 1 in files:
        hi += 1
    while lo - 1 in files:
        lo -= 1
    return lo, hi


@lru_cache(maxsize=64)
def _parsed(path: str, mtime_ns: int, size: int) -> CalendarFile:
    return load_calendar_file(path)


def _calendar_file(directory: Path, year: int) -> CalendarFile | None:
    """The validated file for ``year`` in ``directory``, None if there is none (cached until changed)."""
    path = directory / f"{year}.yaml"
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidCalendarFile(
            year, CalendarFileError(str(path), [f"cannot read: {exc.strerror}"])
        ) from None
    try:
        return _parsed(str(path), st.st_mtime_ns, st.st_size)
    except CalendarFileError as exc:
        raise InvalidCalendarFile(year, exc) from None


def _year_rule(year: int, extra: frozenset[int], directory: Path) -> Callable[[_dt.date], bool]:
    """Whether a day of ``year`` is a working day, by the first source that knows the year (raises
    if none does). Late December defers to next year's file when it decides that day (New Year spill)."""
    own = _calendar_file(directory, year)
    if own is not None:
        base: Callable[[_dt.date], bool] = own.is_working_day
    else:
        lo, hi = _package_years()
        if lo <= year <= hi:
            base = _cc.is_workday
        elif year in extra:
            base = lambda d: d.weekday() < 5  # noqa: E731 - the caller's explicit Monday–Friday rule
        else:
            raise WorkdayCalendarError(year, known_years(), directory=directory)

    def rule(d: _dt.date) -> bool:
        if d.month == 12 and d.day >= 25:
            nxt = _calendar_file(directory, year + 1)
            spill = nxt.spill() if nxt is not None else {}
            if d in spill:
                return spill[d]
        return bool(base(d))

    return rule


def is_working_day(d: _dt.date, *, extra_known_years: Iterable[int] = ()) -> bool:
    """Whether ``d`` is an official working day (adjusted Saturdays/Sundays included)."""
    if isinstance(d, _dt.datetime):
        d = d.date()
    return _year_rule(d.year, frozenset(extra_known_years), calendar_dir())(d)


def add_working_days(start: _dt.date, n: int, *, extra_known_years: Iterable[int] = ()) -> _dt.date:
    """The date ``n`` working days after ``start`` (``start`` itself is not counted).

    ``n == 0`` returns ``start`` unchanged; a negative ``n`` counts backwards. Every day
    stepped over must lie in a year whose calendar is known (a calendar file, the package, or
    ``extra_known_years``, where Monday–Friday are working days), otherwise
    :class:`WorkdayCalendarError` is raised naming that year and the file to add.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if isinstance(start, _dt.datetime):
        start = start.date()
    if not isinstance(start, _dt.date):
        raise TypeError("start must be a datetime.date")
    extra = frozenset(int(y) for y in extra_known_years)
    directory = calendar_dir()
    step = _dt.timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    d = start
    rules: dict[int, Callable[[_dt.date], bool]] = {}
    while remaining:
        d = d + step
        if d.year not in rules:
            rules[d.year] = _year_rule(d.year, extra, directory)
        if rules[d.year](d):
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
