"""CSV imports of credit records and green-threshold statuses (docs/data-formats.md)."""

from __future__ import annotations

from datetime import date

import pytest

from services.identity.domain.imports import (
    CreditRow,
    GreenRow,
    ImportRowError,
    parse_credit_csv,
    parse_green_csv,
)
from services.identity.domain.uscc import make_uscc

A = make_uscc("370102", 1)
B = make_uscc("370211", 2)
CREDIT_HEADER = "uscc,severity,start_date,end_date,source,reference\n"
GREEN_HEADER = "uscc,meets,as_of,source\n"


def test_credit_ok() -> None:
    text = (
        CREDIT_HEADER
        + f'{A},serious_dishonesty,2024-01-01,,信用中国,R1\n\n{B.lower()},other,2023-01-01,2023-12-31,"法院, 执行局",R2\n'
    )
    rows = parse_credit_csv(text)
    assert rows == [
        CreditRow(2, A, "serious_dishonesty", date(2024, 1, 1), None, "信用中国", "R1"),
        CreditRow(4, B, "other", date(2023, 1, 1), date(2023, 12, 31), "法院, 执行局", "R2"),
    ]


def test_green_ok_with_bom_crlf_and_column_order() -> None:
    text = f"\ufeffsource,USCC,as_of,meets\r\n省发展改革委,{A},2025-06-30,true\r\n省发展改革委,{B},2025-06-30,FALSE\r\n"
    assert parse_green_csv(text) == [
        GreenRow(2, A, True, date(2025, 6, 30), "省发展改革委"),
        GreenRow(3, B, False, date(2025, 6, 30), "省发展改革委"),
    ]


def test_header_only_is_empty() -> None:
    assert parse_credit_csv(CREDIT_HEADER) == []


def test_all_bad_rows_listed_nothing_imported() -> None:
    bad_check = A[:17] + ("0" if A[17] != "0" else "1")
    text = (
        CREDIT_HEADER
        + f"{A},serious_dishonesty,2024-01-01,,信用中国,R1\n"  # 2 ok
        + f"{bad_check},serious_dishonesty,2024-01-01,,信用中国,R2\n"  # 3 bad uscc
        + f"{A},Serious Dishonesty,2024/01/01,2023-01-01,,R3\n"  # 4 severity, date, source
        + f"{A},serious_dishonesty,2024-02-01,2024-01-01,信用中国,R4\n"  # 5 end before start
        + f"{A},serious_dishonesty,2024-01-01\n"  # 6 field count
        + f"{A},serious_dishonesty,2024-01-01,,信用中国,R1\n"  # 7 duplicate of 2
        + f"{B},serious_dishonesty,2024-02-30,,信用中国,\n"  # 8 invalid date, missing reference
    )
    with pytest.raises(ImportRowError) as e:
        parse_credit_csv(text)
    err = e.value
    assert sorted({x.line for x in err.errors}) == [3, 4, 5, 6, 7, 8]
    by = {(x.line, x.column) for x in err.errors}
    assert {
        (3, "uscc"),
        (4, "severity"),
        (4, "start_date"),
        (4, "source"),
        (5, "end_date"),
        (6, None),
        (7, None),
        (8, "start_date"),
        (8, "reference"),
    } == by
    msg = str(err)
    assert "line 3 [uscc]" in msg
    assert "character 18" in msg
    assert "duplicate of line 2" in msg
    assert "nothing imported" in msg


def test_bad_header() -> None:
    with pytest.raises(ImportRowError, match="missing reference; unexpected ref") as e:
        parse_credit_csv("uscc,severity,start_date,end_date,source,ref\n")
    assert e.value.errors[0].line == 1
    with pytest.raises(ImportRowError, match="empty file"):
        parse_green_csv("")
    with pytest.raises(ImportRowError):
        parse_green_csv("uscc,meets,as_of,source,source\n")


def test_green_bad_rows() -> None:
    text = GREEN_HEADER + f"{A},yes,2025-06-30,x\n{A},true,,\n{B},true,2025-06-30,x\n{B},false,2025-06-30,x\n"
    with pytest.raises(ImportRowError) as e:
        parse_green_csv(text)
    assert [(x.line, x.column) for x in e.value.errors] == [
        (2, "meets"),
        (3, "as_of"),
        (3, "source"),
        (5, None),
    ]


def test_line_numbers_with_multiline_field() -> None:
    text = (
        CREDIT_HEADER
        + f'{A},serious_dishonesty,2024-01-01,,"信用\n中国",R1\n{A},bad value,2024-01-01,,s,R2\n'
    )
    with pytest.raises(ImportRowError) as e:
        parse_credit_csv(text)
    assert [x.line for x in e.value.errors] == [4]


def test_examples_in_docs_parse() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-formats.md").read_text("utf-8")
    blocks = [b.split("```")[0] for b in doc.split("```csv\n")[1:]]
    assert len(parse_credit_csv(blocks[0])) == 2
    assert len(parse_green_csv(blocks[1])) == 2
