import argparse
import json
from decimal import Decimal

import openpyxl
import pytest

from aicc.cli import policy_cmd, rank

from ._scoring_helpers import POLICY, sheet

POLICY_FILE = str(
    __import__("aicc.platform.policy", fromlist=["x"]).default_policy_dir() / "shandong-2026.yaml"
)


def _parse(*argv):
    p = argparse.ArgumentParser()
    s = p.add_subparsers()
    rank.add_parser(s)
    policy_cmd.add_parser(s)
    return p.parse_args(list(argv))


def _run(*argv) -> int:
    args = _parse(*argv)
    return args.func(args)


def _write(tmp_path, totals, *, apps_extra="", scores_extra=""):
    apps = ["application_id,enterprise,city,submitted_at"]
    rows = ["application_id,expert_id,indicator,score"]
    for i, per_expert in enumerate(totals):
        app = f"APP-{i + 1:03d}"
        apps.append(f"{app},企业{i + 1}有限公司,济南市,2026-03-0{1 + i % 9}T09:00:00+08:00")
        for e, total in enumerate(per_expert):
            for iid, pts in sheet(total).items():
                rows.append(f"{app},EXP{e + 1},{iid},{pts}")
    a = tmp_path / "apps.csv"
    s = tmp_path / "scores.csv"
    a.write_text("\n".join(apps) + "\n" + apps_extra, encoding="utf-8")
    s.write_text("\n".join(rows) + "\n" + scores_extra, encoding="utf-8")
    return a, s


def test_json_output(tmp_path, capsys):
    a, s = _write(tmp_path, [[95, 96, 94, 93, 97], [85, 86, 84], [70, 71]])
    assert (
        _run(
            "rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s), "--format", "json"
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["application_id"] for r in rows] == ["APP-001", "APP-002", "APP-003"]
    first = rows[0]
    assert first["rank"] == 1
    assert first["final_score"] == "95.00"
    assert first["tier"] == "excellent"
    assert first["amount_fen"] == 200_000_000
    assert first["reserve"] is False
    assert first["enterprise"] == "企业1有限公司"
    assert first["city"] == "济南市"
    assert isinstance(first["reason"], str)
    assert "rank 1" in first["reason"]
    assert set(first["dimension_scores"]) == {"1", "2", "3", "4", "5"}
    assert rows[1]["tier"] == "advanced"
    assert rows[1]["amount_fen"] == 100_000_000
    assert rows[2]["tier"] == "none"
    assert rows[2]["amount_fen"] == 0
    assert rows[2]["budget_left_fen"] == (20_000_000 - 3_000_000) * 100


def test_budget_override_and_policy_by_name(tmp_path, capsys):
    a, s = _write(tmp_path, [[95], [94], [93]])
    assert (
        _run(
            "rank",
            "--policy",
            "demo",
            "--applications",
            str(a),
            "--scores",
            str(s),
            "--format",
            "json",
            "--budget-yuan",
            "4000000",
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["amount_fen"] for r in rows] == [200_000_000, 200_000_000, 0]
    assert rows[2]["reserve"] is True


def test_table_output(tmp_path, capsys):
    a, s = _write(tmp_path, [[95], [85]])
    assert _run("rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["rank", "enterprise", "city", "score", "tier", "amount", "(万元)", "reserve"]
    assert "200.00" in out[2]
    assert "excellent" in out[2]
    assert "100.00" in out[3]
    assert out[2].index("95.00") == out[3].index("85.00")  # aligned despite wide CJK characters


def test_xlsx_output(tmp_path):
    a, s = _write(tmp_path, [[95], [85], [50]])
    out = tmp_path / "p.xlsx"
    assert (
        _run(
            "rank",
            "--policy",
            POLICY_FILE,
            "--applications",
            str(a),
            "--scores",
            str(s),
            "--format",
            "xlsx",
            "--out",
            str(out),
        )
        == 0
    )
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 4
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    col = {h: i for i, h in enumerate(header)}
    assert rows[1][col["application_id"]] == "APP-001"
    assert rows[1][col["rank"]] == 1
    assert Decimal(str(rows[1][col["amount (万元)"]])) == Decimal(200)
    assert Decimal(str(rows[2][col["amount (万元)"]])) == Decimal(100)
    assert ws.cell(row=2, column=col["amount (万元)"] + 1).number_format == "#,##0.00"
    assert rows[3][col["tier"]] == "none"


def test_xlsx_requires_out(tmp_path, capsys):
    a, s = _write(tmp_path, [[95]])
    assert (
        _run(
            "rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s), "--format", "xlsx"
        )
        == 2
    )


@pytest.mark.parametrize(
    ("scores_extra", "apps_extra", "expect"),
    [
        ("APP-001,EXP1,9.9,1\n", "", "scores.csv:17: unknown indicator '9.9'"),
        ("APP-001,EXP9,4.1,11\n", "", "scores.csv:17: score 11 for indicator 4.1 is outside 0..10"),
        ("APP-001,EXP9,4.1,abc\n", "", "scores.csv:17: score 'abc' is not a number"),
        ("APP-001,EXP9,4.1,5.555\n", "", "scores.csv:17: score 5.555 has more than 2 decimal places"),
        (
            "APP-001,EXP1,4.1,5\n",
            "",
            "scores.csv:17: duplicate score for application APP-001, expert EXP1, indicator 4.1 (first on line 14)",
        ),
        ("APP-404,EXP1,4.1,5\n", "", "scores.csv:17: unknown application_id 'APP-404'"),
        ("APP-001,EXP2,4.1,5\n", "", "scores.csv:17: the sheet of expert EXP2 for application APP-001"),
        (
            "",
            "APP-002,企业2,青岛市,2026-03-01T09:00:00\n",
            "apps.csv:3: submitted_at '2026-03-01T09:00:00' has no UTC offset",
        ),
        ("", "APP-002,企业2,青岛市,yesterday\n", "apps.csv:3: submitted_at 'yesterday' is not an ISO 8601"),
        (
            "",
            "APP-001,企业2,青岛市,2026-03-01T09:00:00+08:00\n",
            "apps.csv:3: duplicate application_id 'APP-001'",
        ),
        (
            "",
            "APP-002,企业2,青岛市,2026-03-01T09:00:00+08:00\n",
            "apps.csv:3: application APP-002 has no score sheets",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, capsys, scores_extra, apps_extra, expect):
    a, s = _write(tmp_path, [[90]], apps_extra=apps_extra, scores_extra=scores_extra)
    assert (
        _run(
            "rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s), "--format", "json"
        )
        == 2
    )
    err = capsys.readouterr().err
    assert expect in err, err


def test_missing_indicator_line_number(tmp_path, capsys):
    a, s = _write(tmp_path, [[90, 80]])
    lines = s.read_text().splitlines()
    del lines[1 + 15 + 4]  # EXP2's 5th indicator (line 21 in the file)
    s.write_text("\n".join(lines) + "\n")
    assert _run("rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s)) == 2
    err = capsys.readouterr().err
    assert "scores.csv:17: the sheet of expert EXP2 for application APP-001" in err
    assert "2.2" in err


def test_bad_header_and_bad_policy(tmp_path, capsys):
    a, s = _write(tmp_path, [[90]])
    s.write_text("application_id,expert,indicator,score\n")
    assert _run("rank", "--policy", POLICY_FILE, "--applications", str(a), "--scores", str(s)) == 2
    assert "scores.csv:1: header" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy_id: x\n")
    assert _run("rank", "--policy", str(bad), "--applications", str(a), "--scores", str(s)) == 2


def test_policy_check_and_show(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy_id: BAD\nquota: 0\nfoo: 1\n")
    assert _run("policy", "check", POLICY_FILE, "demo") == 0
    out = capsys.readouterr().out
    assert f"OK {POLICY_FILE}" in out
    assert "OK demo" in out
    assert _run("policy", "check", POLICY_FILE, str(bad)) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "  policy_id:" in out
    assert "  quota:" in out
    assert "  foo:" in out

    assert _run("policy", "show", POLICY_FILE, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    flat = {i["id"]: i for i in data["indicator_list"]}
    assert flat["2.3"]["dimension"] == "2"
    assert flat["2.3"]["max_points"] == 8
    assert data["budget_fen"] == POLICY.budget_fen
    assert data["tiers"][0]["amount_fen"] == 200_000_000
    assert _run("policy", "show", "demo", "--format", "yaml") == 0
    assert "policy_id: demo" in capsys.readouterr().out
    assert _run("policy", "show", "shandong-2026") == 0
    assert "卓越级" in capsys.readouterr().out
