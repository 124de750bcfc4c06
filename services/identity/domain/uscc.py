"""Unified social credit code (统一社会信用代码) validation — GB 32100-2015.

Structure of the 18-character code::

    position  1      registration authority code      (登记管理部门代码)
    position  2      organisation category code       (机构类别代码)
    positions 3-8    administrative division code     (登记管理机关行政区划码, GB/T 2260)
    positions 9-17   organisation code                (主体标识码/组织机构代码, GB 11714)
                     — 8 body characters + check character at position 17
    position  18     check character                  (校验码)

Characters come from the 31-character alphabet ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z);
a character's value is its index in that alphabet.

Input is normalised before checking: Unicode NFKC (turns full-width ``９１３７…`` into ASCII), surrounding
whitespace stripped, upper-cased.

Note on error detection: the position-18 check is a weighted sum modulo the prime 31 with non-zero
weights, and every character value is in 0..30, so replacing any single character by a *different
alphabet character* always breaks the check (a property the unit tests verify exhaustively).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = [
    "ALPHABET",
    "AUTHORITY_CATEGORIES",
    "PROVINCE_PREFIXES",
    "UsccProblem",
    "check_uscc",
    "compute_check_character",
    "compute_org_code_check",
    "division_code",
    "is_valid_uscc",
    "make_uscc",
    "normalize_uscc",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

#: W_i = 3^(i-1) mod 31, i = 1..17
CHECK_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
#: GB 11714 organisation code weights for the 8 body characters.
ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)

_STD = "GB 32100-2015"
_STD_ORG = "GB 11714"

#: Registration authority (position 1) → allowed organisation categories (position 2), GB 32100-2015
#: table of 登记管理部门代码 / 机构类别代码 (with the later additions A and N).
AUTHORITY_CATEGORIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "其他"}),
}

#: First two digits of GB/T 2260 province-level codes. "10" is not a province: it is the national
#: level used by organisations registered with a central authority (e.g. 91100000100003962T).
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    {"10"}
    | {"11", "12", "13", "14", "15"}
    | {"21", "22", "23"}
    | {"31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46"}
    | {"50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65"}
    | {"71", "81", "82"}
)


@dataclass(frozen=True)
class UsccProblem:
    """One failed rule. ``position`` is 1-based (None for whole-code problems such as the length)."""

    position: int | None
    rule: str
    message: str
    message_zh: str

    def __str__(self) -> str:
        return self.message


def normalize_uscc(code: str) -> str:
    """NFKC-normalise, strip surrounding whitespace and upper-case."""
    if not isinstance(code, str):
        raise TypeError(f"USCC must be a string, not {type(code).__name__}")
    return unicodedata.normalize("NFKC", code).strip().upper()


def _check_value(values17: list[int]) -> int:
    total = sum(v * w for v, w in zip(values17, CHECK_WEIGHTS, strict=True))
    c = 31 - total % 31
    return 0 if c == 31 else c


def compute_check_character(first17: str) -> str:
    """Position-18 check character for the first 17 characters (normalised first)."""
    s = normalize_uscc(first17)
    if len(s) != 17:
        raise ValueError(f"need exactly 17 characters, got {len(s)}")
    bad = [ch for ch in s if ch not in _VALUE]
    if bad:
        raise ValueError(f"character {bad[0]!r} is not in the USCC alphabet {ALPHABET}")
    return ALPHABET[_check_value([_VALUE[ch] for ch in s])]


def _org_value(ch: str) -> int:
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    raise ValueError(f"character {ch!r} is not a digit or an upper-case letter")


def compute_org_code_check(body8: str) -> str:
    """GB 11714 organisation-code check character for the 8 body characters: '0'-'9' or 'X'."""
    s = normalize_uscc(body8)
    if len(s) != 8:
        raise ValueError(f"need exactly 8 characters, got {len(s)}")
    total = sum(_org_value(ch) * w for ch, w in zip(s, ORG_CODE_WEIGHTS, strict=True))
    c = 11 - total % 11
    if c == 10:
        return "X"
    if c == 11:
        return "0"
    return str(c)


def _p(position: int | None, rule: str, en: str, zh: str) -> UsccProblem:
    return UsccProblem(position=position, rule=rule, message=en, message_zh=zh)


def _authority_and_category(s: str) -> list[UsccProblem]:
    """Positions 1 and 2: registration authority and organisation category."""
    problems: list[UsccProblem] = []
    auth, cat = s[0], s[1]
    if auth not in AUTHORITY_CATEGORIES:
        problems.append(
            _p(
                1,
                "registration_authority",
                f"character 1 {auth!r}: unknown registration authority code; known codes are "
                f"{', '.join(AUTHORITY_CATEGORIES)} ({_STD})",
                f"第1位“{auth}”：未知的登记管理部门代码，应为 {'、'.join(AUTHORITY_CATEGORIES)} 之一（{_STD}）",
            )
        )
    else:
        auth_name, cats = AUTHORITY_CATEGORIES[auth]
        if cat not in cats:
            problems.append(
                _p(
                    2,
                    "organisation_category",
                    f"character 2 {cat!r}: not an organisation category of registration authority "
                    f"{auth!r} ({auth_name}); allowed: {', '.join(cats)} ({_STD})",
                    f"第2位“{cat}”：不是登记管理部门“{auth}”（{auth_name}）的机构类别代码，"
                    f"应为 {'、'.join(cats)} 之一（{_STD}）",
                )
            )
    return problems


def _division(s: str) -> list[UsccProblem]:
    """Positions 3-8: administrative division code (GB/T 2260)."""
    problems: list[UsccProblem] = []
    division = s[2:8]
    for i, ch in enumerate(division, start=3):
        if not ch.isdigit():
            problems.append(
                _p(
                    i,
                    "division",
                    f"character {i} {ch!r}: administrative division code (positions 3-8) must be digits "
                    f"(GB/T 2260, {_STD})",
                    f"第{i}位“{ch}”：登记管理机关行政区划码（第3-8位）必须为数字（GB/T 2260，{_STD}）",
                )
            )
            break
    else:
        if division[:2] not in PROVINCE_PREFIXES:
            problems.append(
                _p(
                    3,
                    "division",
                    f"character 3 {division[0]!r}: administrative division code {division} does not start "
                    f"with a province code (GB/T 2260, {_STD})",
                    f"第3位“{division[0]}”：行政区划码 {division} 的前两位不是省级行政区划代码（GB/T 2260，{_STD}）",
                )
            )
    return problems


def _check_characters(s: str) -> list[UsccProblem]:
    """Position 17 (organisation code check, GB 11714) and 18 (check character over 1-17)."""
    problems: list[UsccProblem] = []
    body, org_check = s[8:16], s[16]
    if all(ch in _VALUE for ch in body):
        expected = compute_org_code_check(body)
        if org_check != expected:
            problems.append(
                _p(
                    17,
                    "org_code_check",
                    f"character 17 {org_check!r}: organisation code check character should be "
                    f"{expected!r} ({_STD_ORG})",
                    f"第17位“{org_check}”：组织机构代码校验码应为“{expected}”（{_STD_ORG}）",
                )
            )

    # Position 18: check character over positions 1-17.
    if all(ch in _VALUE for ch in s[:17]):
        expected = compute_check_character(s[:17])
        if s[17] != expected:
            problems.append(
                _p(
                    18,
                    "check_character",
                    f"character 18 {s[17]!r}: check character should be {expected!r} ({_STD})",
                    f"第18位“{s[17]}”：校验码应为“{expected}”（{_STD}）",
                )
            )
    return problems


def check_uscc(code: str) -> list[UsccProblem]:
    """All rule violations of ``code`` (empty list = valid), one problem per rule (its first failure).

    Rules (``UsccProblem.rule``): ``length``, ``charset``, ``registration_authority``,
    ``organisation_category``, ``division``, ``org_code_check``, ``check_character``.
    When the length is wrong only ``length`` and ``charset`` are checked (positions are meaningless).
    """
    s = normalize_uscc(code)
    problems: list[UsccProblem] = []

    if len(s) != 18:
        problems.append(
            _p(
                None,
                "length",
                f"must be 18 characters, got {len(s)} ({_STD})",
                f"应为18位，实际为{len(s)}位（{_STD}）",
            )
        )

    for i, ch in enumerate(s, start=1):
        if ch not in _VALUE:
            problems.append(
                _p(
                    i,
                    "charset",
                    f"character {i} {ch!r}: not allowed; allowed characters are {ALPHABET} "
                    f"(no I, O, S, V, Z) ({_STD})",
                    f"第{i}位“{ch}”：非法字符，只允许 {ALPHABET}（不含 I、O、S、V、Z）（{_STD}）",
                )
            )
            break

    if len(s) != 18:
        return problems

    return [*problems, *_authority_and_category(s), *_division(s), *_check_characters(s)]


def is_valid_uscc(code: object) -> bool:
    """True when ``code`` is a string passing every rule of :func:`check_uscc`."""
    if not isinstance(code, str):
        return False
    return not check_uscc(code)


def division_code(code: str) -> str:
    """Positions 3-8 (administrative division code) of an 18-character code (normalised first)."""
    s = normalize_uscc(code)
    if len(s) != 18:
        raise ValueError(f"USCC must be 18 characters, got {len(s)}")
    return s[2:8]


def make_uscc(division: str, serial: int, *, authority: str = "9", category: str = "1") -> str:
    """A valid code built deterministically: organisation-code body = ``serial`` as 8 digits.

    ``division`` must be a 6-digit GB/T 2260 code; ``0 <= serial < 10**8``. Raises ValueError otherwise.
    """
    if not (isinstance(division, str) and len(division) == 6 and division.isascii() and division.isdigit()):
        raise ValueError(f"division must be 6 digits, got {division!r}")
    if division[:2] not in PROVINCE_PREFIXES:
        raise ValueError(f"division {division} does not start with a province code")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial < 10**8:
        raise ValueError(f"serial must be an int in [0, 10**8), got {serial!r}")
    if authority not in AUTHORITY_CATEGORIES or category not in AUTHORITY_CATEGORIES[authority][1]:
        raise ValueError(f"unknown registration authority / category pair {authority!r}{category!r}")
    body = f"{serial:08d}"
    first17 = authority + category + division + body + compute_org_code_check(body)
    return first17 + compute_check_character(first17)
