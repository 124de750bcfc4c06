"""Personal data checks: mainland mobile numbers and resident identity numbers (GB 11643-1999).

Messages never repeat the value (it must not reach logs, errors or traces)."""

from __future__ import annotations

import re
from datetime import date

# Whole strings of ASCII digits (fullmatch: "$" would accept a trailing newline).
PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def phone_problem(phone: str) -> tuple[str, str] | None:
    if not PHONE_RE.fullmatch(phone):
        return "must be an 11-digit mainland mobile number (1[3-9]xxxxxxxxx)", "须为11位手机号码"
    return None


def id_number_problem(id_number: str) -> tuple[str, str] | None:
    """(English, Chinese) description of what is wrong with an 18-character ID number, or None."""
    if not ID_RE.fullmatch(id_number):
        return (
            "must be 18 characters: 17 digits and a check digit (0-9 or X)",
            "须为18位：17位数字加1位校验码（0-9或X）",
        )
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900 or born > date.today():
        return (
            "characters 7-14 must be a valid date of birth (YYYYMMDD)",
            "第7至14位须为有效出生日期（YYYYMMDD）",
        )
    if id_check_digit(id_number[:17]) != id_number[17]:
        return "check digit does not match (GB 11643)", "校验码不正确（GB 11643）"
    return None


def make_id_number(region: str = "370102", born: str = "19900101", seq: str = "123") -> str:
    """A valid ID number for tests and the demo."""
    first17 = region + born + seq
    return first17 + id_check_digit(first17)
