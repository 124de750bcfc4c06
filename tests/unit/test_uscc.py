"""Unified social credit code (GB 32100-2015) validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identity.domain.uscc import (
    ALPHABET,
    AUTHORITY_CATEGORIES,
    CHECK_WEIGHTS,
    UsccProblem,
    check_uscc,
    compute_check_character,
    compute_org_code_check,
    division_code,
    is_valid_uscc,
    make_uscc,
)

# Published codes of well-known organisations. Each passes BOTH independent checks (GB 11714 at
# position 17, mod 11; GB 32100 at position 18, mod 31), which a mistyped code would pass by chance
# with probability ~1/341.
PUBLISHED = [
    "91110000600037341L",
    "91100000100003962T",  # 中国工商银行股份有限公司 (national-level registration, division 100000)
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司 (organisation-code check 'X')
    "914403001922038216",  # 华为技术有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91370200163562681G",  # Qingdao-registered (division 370200)
]

VALID = make_uscc("370102", 12345678)  # constructed, Jinan Lixia district


def rules(code: str) -> dict[str, UsccProblem]:
    return {p.rule: p for p in check_uscc(code)}


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert check_uscc(code) == []
    assert is_valid_uscc(code)


def test_weights_are_powers_of_three_mod_31() -> None:
    assert CHECK_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_check_character_of_published_codes() -> None:
    for code in PUBLISHED:
        assert compute_check_character(code[:17]) == code[17]
        assert compute_org_code_check(code[8:16]) == code[16]


def test_org_code_check_special_values() -> None:
    # 10 -> 'X' (Tencent's organisation code 71526726-X), 11 -> '0'
    assert compute_org_code_check("71526726") == "X"
    zero = next(f"{n:08d}" for n in range(1000) if compute_org_code_check(f"{n:08d}") == "0")
    digits = [int(c) for c in zero]
    assert sum(d * w for d, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11 == 0
    # letters count A=10..Z=35
    assert compute_org_code_check("MA000000") == str(11 - (22 * 3 + 10 * 7) % 11)


def test_check_character_31_maps_to_zero() -> None:
    # find a 17-prefix whose weighted sum is 0 mod 31: check value 31 -> '0'
    prefix = "9137010200000001"
    for ch in ALPHABET:
        first17 = prefix + ch
        total = sum(ALPHABET.index(c) * w for c, w in zip(first17, CHECK_WEIGHTS, strict=True))
        if total % 31 == 0:
            assert compute_check_character(first17) == "0"
            break
    else:  # pragma: no cover - one of the 31 values must hit 0 mod 31
        pytest.fail("no prefix with sum 0 mod 31")


def test_normalisation_strip_upper_fullwidth() -> None:
    assert is_valid_uscc("  9144030071526726xg\n")
    assert is_valid_uscc("９１３３０１００７１６１０５８５２Ｆ")


def test_length() -> None:
    (p,) = check_uscc("91370102")
    assert p.rule == "length"
    assert p.position is None
    assert "18" in p.message
    assert "8" in p.message_zh
    assert rules("")["length"]


def test_charset_names_first_bad_position() -> None:
    code = VALID[:9] + "I" + VALID[10:14] + "O" + VALID[15:]
    p = rules(code)["charset"]
    assert p.position == 10
    assert p.message.startswith("character 10 'I'")
    assert "第10位" in p.message_zh


def test_charset_on_wrong_length_code() -> None:
    r = rules("91S")
    assert set(r) == {"length", "charset"}
    assert r["charset"].position == 3


def test_unknown_registration_authority() -> None:
    code = "B" + VALID[1:]
    p = rules(code)["registration_authority"]
    assert p.position == 1
    assert "'B'" in p.message


@pytest.mark.parametrize(
    ("pair", "ok"),
    [
        ("11", True),
        ("12", True),
        ("13", True),
        ("19", True),
        ("14", False),
        ("51", True),
        ("52", True),
        ("53", True),
        ("59", True),
        ("54", False),
        ("91", True),
        ("92", True),
        ("93", True),
        ("99", False),
        ("94", False),
        ("Y1", True),
        ("Y9", False),
        ("21", True),
        ("35", True),
        ("36", False),
        ("A1", True),
        ("N3", True),
        ("81", True),
        ("82", False),
        ("71", True),
        ("62", True),
    ],
)
def test_authority_category_table(pair: str, ok: bool) -> None:
    code = pair + VALID[2:17]
    code += compute_check_character(code)
    r = rules(code)
    assert ("organisation_category" not in r) is ok
    assert "registration_authority" not in r
    if not ok:
        assert r["organisation_category"].position == 2
        assert f"character 2 '{pair[1]}'" in r["organisation_category"].message


def test_table_covers_documented_authorities() -> None:
    assert set(AUTHORITY_CATEGORIES) == set("123456789ANY")


def test_division_must_be_digits() -> None:
    code = VALID[:5] + "A" + VALID[6:17]
    code += compute_check_character(code)
    p = rules(code)["division"]
    assert p.position == 6
    assert p.message.startswith("character 6 'A'")


def test_division_must_start_with_province() -> None:
    code = VALID[:2] + "990000" + VALID[8:17]
    code += compute_check_character(code)
    r = rules(code)
    assert list(r) == ["division"]
    assert r["division"].position == 3
    assert "990000" in r["division"].message


def test_org_code_check_failure_position_17() -> None:
    wrong = "0" if VALID[16] != "0" else "1"
    code = VALID[:16] + wrong
    code += compute_check_character(code)  # keep position 18 consistent
    r = rules(code)
    assert list(r) == ["org_code_check"]
    assert r["org_code_check"].position == 17
    assert f"should be '{VALID[16]}'" in r["org_code_check"].message


def test_check_character_failure_message() -> None:
    code = "91110000600037341X"
    (p,) = check_uscc(code)
    assert p.rule == "check_character"
    assert p.position == 18
    assert p.message == "character 18 'X': check character should be 'L' (GB 32100-2015)"
    assert p.message_zh.startswith("第18位“X”：校验码应为“L”")


def test_each_rule_reported_once() -> None:
    code = "B" + "1" + "AB0000" + "0000I00S" + "5" + "Z"
    problems = check_uscc(code)
    # no check character is computed over characters outside the alphabet
    assert [p.rule for p in problems] == ["charset", "registration_authority", "division"]
    assert [p.position for p in problems] == [13, 1, 3]


def test_division_code() -> None:
    assert division_code(" 91370200163562681g ") == "370200"
    with pytest.raises(ValueError, match="must be 18 characters, got 4"):
        division_code("9137")


def test_helpers_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="need exactly 17 characters"):
        compute_check_character("9137")
    with pytest.raises(ValueError, match="'I' is not in the USCC alphabet"):
        compute_check_character("9137010200000001I")
    with pytest.raises(ValueError, match="need exactly 8 characters"):
        compute_org_code_check("1234567")
    with pytest.raises(ValueError, match="division must be 6 digits"):
        make_uscc("37010", 1)
    with pytest.raises(ValueError, match="does not start with a province code"):
        make_uscc("990000", 1)
    with pytest.raises(ValueError, match="serial must be an int"):
        make_uscc("370100", 10**8)
    with pytest.raises(ValueError, match="unknown registration authority / category pair"):
        make_uscc("370100", 1, authority="9", category="9")
    assert not is_valid_uscc(None)


def test_make_uscc_is_deterministic() -> None:
    assert make_uscc("370200", 42) == make_uscc("370200", 42)
    assert make_uscc("370200", 42) != make_uscc("370200", 43)
    assert make_uscc("370200", 42)[:16] == "9137020000000042"
    assert make_uscc("370200", 42, authority="5", category="2").startswith("52370200")


divisions = st.sampled_from(["370100", "370102", "370211", "371202", "110000", "440300", "100000"])
pairs = st.sampled_from([(a, c) for a, (_, cats) in AUTHORITY_CATEGORIES.items() for c in cats])


@given(division=divisions, serial=st.integers(0, 10**8 - 1), pair=pairs)
def test_make_uscc_always_valid(division: str, serial: int, pair: tuple[str, str]) -> None:
    code = make_uscc(division, serial, authority=pair[0], category=pair[1])
    assert check_uscc(code) == [], code
    assert division_code(code) == division


@given(serial=st.integers(0, 10**8 - 1), pos=st.integers(0, 17), ch=st.sampled_from(ALPHABET))
def test_single_substitution_is_detected(serial: int, pos: int, ch: str) -> None:
    code = make_uscc("370102", serial)
    if code[pos] == ch:
        return
    changed = code[:pos] + ch + code[pos + 1 :]
    problems = check_uscc(changed)
    assert problems
    # The mod-31 check alone catches it: 31 is prime, weights are non-zero, values differ by < 31.
    assert "check_character" in {p.rule for p in problems}


@pytest.mark.parametrize("code", PUBLISHED)
def test_every_single_substitution_of_published_codes_is_detected(code: str) -> None:
    # exhaustive: 18 positions x 30 other alphabet characters, plus characters outside the alphabet
    for pos in range(18):
        for ch in ALPHABET + "IOSVZ-":
            if ch != code[pos]:
                assert not is_valid_uscc(code[:pos] + ch + code[pos + 1 :])


def test_case_change_is_not_a_change() -> None:
    # upper-casing is normalisation, so lower-casing a letter keeps the code valid
    assert is_valid_uscc(PUBLISHED[0].lower())
