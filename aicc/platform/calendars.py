"""The official working-day calendar of one year as a file the province maintains.

Each year the State Council's General Office publishes the holiday arrangement
(国务院办公厅关于<year>年部分节假日安排的通知, 国办发明电〔…〕N号): the holidays (放假) as date
ranges and the weekend days that are working days instead (调休上班). ``policies/calendars/<year>.yaml``
transcribes one such notice::

    year: 2026
    revision: 1                   # raise it when the file is corrected
    notice:
      title: 国务院办公厅关于2026年部分节假日安排的通知
      document_no: 国办发明电〔2025〕N号
      published_on: 2025-11-04
      source_url: https://…
    holidays:                     # every day off, weekends inside a holiday included
      - {name: 元旦, name_en: New Year's Day, from: 2026-01-01, to: 2026-01-03}
    adjusted_working_days:        # Saturdays/Sundays that are working days
      - 2026-01-04

A day is a working day if it is listed as an adjusted working day, or if it is Monday–Friday and
not inside a holiday. :func:`load_calendar_file` refuses a file with every problem listed
(:class:`CalendarFileError`, naming the file): every date must lie in the file's year — except a
New Year's Day holiday (the range holding 1 January) that starts in the last days of December and
its adjusted working days there ("spill", as in the 2012 arrangement); no date is both a holiday
and a working day; adjusted working days fall on weekends; names are not empty. The file's
sha256 identifies exactly what was used. :mod:`aicc.platform.workdays` consults these files
before the ``chinese_calendar`` package.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

__all__ = [
    "CalendarFile",
    "CalendarFileError",
    "Holiday",
    "Notice",
    "load_calendar_file",
    "load_calendar_text",
]

SPILL_FROM_DAY = 25  # a New Year's holiday may start from 25 December of the previous year
MAX_HOLIDAY_DAYS = 15  # longest arrangement so far: 10 days (Spring Festival 2020); a typo is longer


class CalendarFileError(ValueError):
    """A calendar file that cannot be used; ``problems`` lists every one, ``source`` names the file."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "; ".join(problems)
        super().__init__(
            f"invalid working-day calendar file {source}: {listed} / 工作日历文件 {source} 无效：{listed}"
        )


def _date(v: Any) -> _dt.date:
    """A calendar date: a YAML date (2026-01-01) or the same as an ISO string; never a time."""
    if isinstance(v, _dt.datetime):
        raise ValueError("a date without a time of day is expected (YYYY-MM-DD)")
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        return _dt.date.fromisoformat(v.strip())
    raise ValueError(f"{v!r} is not a date (YYYY-MM-DD)")


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("must be a non-empty text")
    return v.strip()


Date = Annotated[_dt.date, BeforeValidator(_date)]
Text = Annotated[str, BeforeValidator(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Notice(_Strict):
    """The State Council notice the file transcribes."""

    title: Text
    document_no: Text
    published_on: Date
    source_url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class Holiday(_Strict):
    """Days off from ``first`` to ``last`` (both included), with the festival's names."""

    name: Text
    name_en: Text
    first: Date = Field(alias="from")
    last: Date = Field(alias="to")

    def days(self) -> list[_dt.date]:
        n = (self.last - self.first).days
        return [self.first + _dt.timedelta(days=i) for i in range(n + 1)]


class _Model(_Strict):
    year: Annotated[int, Field(strict=True, ge=2000, le=2100)]
    revision: Annotated[int, Field(strict=True, ge=1)] = 1
    notice: Notice
    holidays: Annotated[list[Holiday], Field(min_length=1)]
    adjusted_working_days: list[Date] = []


@dataclass(frozen=True)
class CalendarFile:
    """A validated calendar: what it transcribes, its days, and the sha256 of the file's bytes."""

    year: int
    revision: int
    notice: Notice
    holidays: tuple[Holiday, ...]
    adjusted_working_days: tuple[_dt.date, ...]
    sha256: str
    source: str

    @property
    def holiday_dates(self) -> frozenset[_dt.date]:
        return frozenset(d for h in self.holidays for d in h.days())

    def is_working_day(self, d: _dt.date) -> bool:
        if d in self.adjusted_working_days:
            return True
        return d.weekday() < 5 and d not in self.holiday_dates

    def spill(self) -> dict[_dt.date, bool]:
        """The days of the previous year this file decides (working or not)."""
        out = {d: False for d in self.holiday_dates if d.year < self.year}
        out.update({d: True for d in self.adjusted_working_days if d.year < self.year})
        return out

    def summary(self) -> str:
        return (
            f"{self.year} (revision {self.revision}): {self.notice.document_no}, "
            f"{len(self.holidays)} holidays ({len(self.holiday_dates)} days off), "
            f"{len(self.adjusted_working_days)} adjusted working days, sha256 {self.sha256}"
        )


def _in_year_or_spill(d: _dt.date, year: int, spill_allowed: bool) -> bool:
    if d.year == year:
        return True
    return spill_allowed and d.year == year - 1 and d.month == 12 and d.day >= SPILL_FROM_DAY


def _check(m: _Model) -> list[str]:  # noqa: C901 - one rule per branch, each a sentence
    """The rules a structurally valid file must also meet (every problem, in file order)."""
    problems: list[str] = []
    new_year = _dt.date(m.year, 1, 1)
    seen: dict[_dt.date, int] = {}
    for i, h in enumerate(m.holidays):
        where = f"holidays[{i}] ({h.name})"
        if h.last < h.first:
            problems.append(f"{where}: 'to' {h.last} is before 'from' {h.first}")
            continue
        if len(h.days()) > MAX_HOLIDAY_DAYS:
            problems.append(
                f"{where}: {len(h.days())} days from {h.first} to {h.last}; at most {MAX_HOLIDAY_DAYS}"
            )
            continue
        holds_new_year = h.first <= new_year <= h.last
        for d in h.days():
            if not _in_year_or_spill(d, m.year, holds_new_year):
                problems.append(
                    f"{where}: {d} is not in {m.year}"
                    + (
                        " (only a New Year's Day holiday may start in late December before)"
                        if d.year < m.year
                        else ""
                    )
                )
                break
            if d in seen:
                problems.append(f"{where}: {d} is already in holidays[{seen[d]}]")
                break
            seen[d] = i
    for i, d in enumerate(m.adjusted_working_days):
        where = f"adjusted_working_days[{i}]"
        if not _in_year_or_spill(d, m.year, True):
            problems.append(f"{where}: {d} is not in {m.year}")
        elif d.year < m.year and not any(h.first <= new_year <= h.last for h in m.holidays):
            problems.append(
                f"{where}: {d} is in {d.year}, but the file has no New Year's Day holiday it belongs to"
            )
        if d.weekday() < 5:
            problems.append(
                f"{where}: {d} is a {d.strftime('%A')}; adjusted working days are Saturdays or Sundays"
            )
        if d in seen:
            problems.append(f"{where}: {d} is both a working day and a holiday (holidays[{seen[d]}])")
        if d in m.adjusted_working_days[:i]:
            problems.append(f"{where}: {d} is listed twice")
    if m.notice.published_on > _dt.date(m.year, 12, 31):
        problems.append(f"notice.published_on: {m.notice.published_on} is after the year {m.year}")
    return problems


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<file>"


def load_calendar_text(raw: bytes, *, source: str, expect_year: int | None = None) -> CalendarFile:
    """Parse and validate a calendar file's bytes; raises :class:`CalendarFileError` listing every
    problem. ``expect_year`` is the year the file's name says (``2027.yaml``)."""
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CalendarFileError(source, ["not valid UTF-8"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise CalendarFileError(
            source, [f"{where}YAML syntax error: {getattr(exc, 'problem', exc)}"]
        ) from None
    if not isinstance(data, dict):
        raise CalendarFileError(
            source, ["expected a mapping with year, notice, holidays, adjusted_working_days"]
        )
    try:
        m = _Model.model_validate(data)
    except ValidationError as exc:
        raise CalendarFileError(source, [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]) from None
    problems = _check(m)
    if expect_year is not None and m.year != expect_year:
        problems.insert(0, f"year: {m.year}, but the file is named for {expect_year} ({expect_year}.yaml)")
    if problems:
        raise CalendarFileError(source, problems)
    return CalendarFile(
        year=m.year,
        revision=m.revision,
        notice=m.notice,
        holidays=tuple(m.holidays),
        adjusted_working_days=tuple(m.adjusted_working_days),
        sha256=hashlib.sha256(raw).hexdigest(),
        source=source,
    )


def load_calendar_file(path: str | Path) -> CalendarFile:
    """Load ``<year>.yaml``; the name must be the year the file describes."""
    p = Path(path)
    if not re.fullmatch(r"\d{4}\.yaml", p.name):
        raise CalendarFileError(
            str(p), [f"the file name must be <year>.yaml (e.g. 2027.yaml), not {p.name!r}"]
        )
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CalendarFileError(str(p), [f"cannot read: {exc.strerror or exc}"]) from None
    return load_calendar_text(raw, source=str(p), expect_year=int(p.stem))
