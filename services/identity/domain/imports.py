"""CSV imports of credit records and green-threshold statuses (format: ``docs/data-formats.md``).

All-or-nothing: every row is validated and, if any row (or the header) is bad, :class:`ImportRowError`
is raised listing *all* problems with their line numbers; nothing is returned to be imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from aicc.platform.validation import MAX_DATE, MIN_DATE
from services.identity.domain.uscc import check_uscc, normalize_uscc

__all__ = [
    "CREDIT_COLUMNS",
    "GREEN_COLUMNS",
    "CreditRow",
    "GreenRow",
    "ImportRowError",
    "RowError",
    "parse_credit_csv",
    "parse_green_csv",
]

CREDIT_COLUMNS = ("uscc", "severity", "start_date", "end_date", "source", "reference")
GREEN_COLUMNS = ("uscc", "meets", "as_of", "source")

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEVERITY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class CreditRow:
    line: int  # physical line number in the file (header = 1)
    uscc: str  # normalised (upper-case)
    severity: str
    start_date: date
    end_date: date | None  # None = open-ended
    source: str
    reference: str


@dataclass(frozen=True)
class GreenRow:
    line: int
    uscc: str
    meets: bool
    as_of: date
    source: str


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        col = f" [{self.column}]" if self.column else ""
        return f"line {self.line}{col}: {self.message}"


class ImportRowError(ValueError):
    """Raised with every bad row of a file; ``errors`` is sorted by line."""

    def __init__(self, what: str, errors: list[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        lines = sorted({e.line for e in self.errors})
        head = (
            f"{what}: {len(self.errors)} problem(s) on line(s) {', '.join(map(str, lines))}; nothing imported"
        )
        super().__init__("\n".join([head, *(f"  {e}" for e in self.errors)]))


def _rows(text: str, columns: tuple[str, ...], what: str):
    """Yield (line, {column: stripped value}) per non-blank data row; raises on a bad header."""
    if text.startswith("\ufeff"):  # BOM written by spreadsheet programs
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    prev_line = 0
    header: list[str] | None = None
    try:
        for fields in reader:
            line, prev_line = prev_line + 1, reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip().lower() for f in fields]
                if sorted(header) != sorted(columns) or len(set(header)) != len(header):
                    missing = [c for c in columns if c not in header]
                    extra = [c for c in header if c not in columns]
                    raise ImportRowError(
                        what,
                        [
                            RowError(
                                line,
                                None,
                                f"header must be {','.join(columns)}"
                                + (f"; missing {', '.join(missing)}" if missing else "")
                                + (f"; unexpected {', '.join(extra)}" if extra else ""),
                            )
                        ],
                    )
                continue
            if len(fields) != len(header):
                yield line, ValueError(f"expected {len(header)} fields, got {len(fields)}")
                continue
            yield line, {name: value.strip() for name, value in zip(header, fields, strict=True)}
    except csv.Error as e:
        raise ImportRowError(what, [RowError(reader.line_num, None, f"malformed CSV: {e}")]) from None
    if header is None:
        raise ImportRowError(what, [RowError(1, None, f"empty file; header must be {','.join(columns)}")])


def _uscc(value: str, errs: list[tuple[str | None, str]]) -> str:
    if not value:
        errs.append(("uscc", "required"))
        return value
    problems = check_uscc(value)
    if problems:
        errs.append(
            ("uscc", f"invalid unified social credit code {value!r}: " + "; ".join(map(str, problems)))
        )
    return normalize_uscc(value)


def _date(
    column: str, value: str, errs: list[tuple[str | None, str]], *, required: bool = True
) -> date | None:
    if not value:
        if required:
            errs.append((column, "required (ISO date YYYY-MM-DD)"))
        return None
    if not _ISO_DATE.fullmatch(value):
        errs.append((column, f"{value!r} is not an ISO date YYYY-MM-DD"))
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError as e:
        errs.append((column, f"{value!r} is not a valid date ({e})"))
        return None
    if not MIN_DATE <= d <= MAX_DATE:
        errs.append((column, f"{value!r} is not between {MIN_DATE} and {MAX_DATE}"))
        return None
    return d


def _required(column: str, value: str, errs: list[tuple[str | None, str]]) -> str:
    if not value:
        errs.append((column, "required"))
    return value


def _parse(text: str, columns: tuple[str, ...], what: str, build: Callable, key: Callable) -> list:
    out: list = []
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    for line, row in _rows(text, columns, what):
        if isinstance(row, Exception):
            errors.append(RowError(line, None, str(row)))
            continue
        errs: list[tuple[str | None, str]] = []
        item = build(line, row, errs)
        if not errs:
            k = key(item)
            if k in seen:
                errs.append((None, f"duplicate of line {seen[k]}"))
            else:
                seen[k] = line
        if errs:
            errors.extend(RowError(line, col, msg) for col, msg in errs)
        else:
            out.append(item)
    if errors:
        raise ImportRowError(what, errors)
    return out


def _build_credit(line: int, row: dict[str, str], errs: list) -> CreditRow | None:
    uscc = _uscc(row["uscc"], errs)
    severity = row["severity"]
    if not severity:
        errs.append(("severity", "required"))
    elif not _SEVERITY.fullmatch(severity):
        errs.append(
            (
                "severity",
                f"{severity!r} must be a lower-case token such as serious_dishonesty (严重失信)",
            )
        )
    start = _date("start_date", row["start_date"], errs)
    end = _date("end_date", row["end_date"], errs, required=False)
    if start and end and end < start:
        errs.append(("end_date", f"{end.isoformat()} is before start_date {start.isoformat()}"))
    source = _required("source", row["source"], errs)
    reference = _required("reference", row["reference"], errs)
    if errs:
        return None
    return CreditRow(line, uscc, severity, start, end, source, reference)  # type: ignore[arg-type]


def _build_green(line: int, row: dict[str, str], errs: list) -> GreenRow | None:
    uscc = _uscc(row["uscc"], errs)
    raw = row["meets"].lower()
    meets: bool | None = {"true": True, "false": False}.get(raw)
    if meets is None:
        errs.append(("meets", f"{row['meets']!r} must be true or false"))
    as_of = _date("as_of", row["as_of"], errs)
    source = _required("source", row["source"], errs)
    if errs:
        return None
    return GreenRow(line, uscc, meets, as_of, source)  # type: ignore[arg-type]


def parse_credit_csv(text: str) -> list[CreditRow]:
    """Parse ``uscc,severity,start_date,end_date,source,reference``; raises ImportRowError listing all bad rows.

    Duplicate rows (same uscc, source and reference) are errors.
    """
    return _parse(
        text, CREDIT_COLUMNS, "credit records", _build_credit, lambda r: (r.uscc, r.source, r.reference)
    )


def parse_green_csv(text: str) -> list[GreenRow]:
    """Parse ``uscc,meets,as_of,source``; raises ImportRowError listing all bad rows.

    Duplicate rows (same uscc, as_of and source) are errors.
    """
    return _parse(
        text, GREEN_COLUMNS, "green-threshold statuses", _build_green, lambda r: (r.uscc, r.as_of, r.source)
    )
