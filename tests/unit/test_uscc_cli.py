"""``aicc uscc check`` (tested through a local argparse harness; main.py lists modules others own)."""

from __future__ import annotations

import argparse

import pytest

from aicc.cli import uscc_cmd
from services.identity.domain.uscc import make_uscc

QINGDAO = "91370200163562681G"
BEIJING = "91110108551385082Q"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aicc")
    sub = parser.add_subparsers(dest="command")
    uscc_cmd.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_all_valid(capsys: pytest.CaptureFixture[str]) -> None:
    laiwu = make_uscc("371202", 7)
    assert run(["uscc", "check", QINGDAO, laiwu.lower(), BEIJING]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{QINGDAO}  valid  (city 370200 青岛市)",
        f"{laiwu}  valid  (city 370100 济南市)",
        f"{BEIJING}  valid  (division 110108)",
    ]


def test_one_invalid_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["uscc", "check", QINGDAO, "91370200163562681A"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        out[1]
        == "91370200163562681A  invalid: character 18 'A': check character should be 'G' (GB 32100-2015)"
    )


def test_multiple_problems_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["uscc", "check", "B4370200163562681G", "--zh"]) == 1
    out = capsys.readouterr().out
    assert "第1位“B”" in out
    assert "第18位" in out


def test_usage_errors() -> None:
    with pytest.raises(SystemExit) as e:
        run(["uscc", "check"])
    assert e.value.code == 2
    assert run(["uscc"]) == 2
    assert uscc_cmd.run(argparse.Namespace(codes=[])) == 2
