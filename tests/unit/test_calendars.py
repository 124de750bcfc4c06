"""The province's working-day calendar files: the committed years agree with chinese_calendar day
by day; a 2027 period is counted from a (test fixture) 2027 file; a year without a file is refused
naming the file to add; an invalid file is refused naming the file and the problem."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import chinese_calendar
import pytest
import yaml

from aicc.cli.main import main as aicc
from aicc.platform.calendars import CalendarFileError, load_calendar_file, load_calendar_text
from aicc.platform.clock import SHANGHAI
from aicc.platform.errors import FailedPrecondition
from aicc.platform.policy import Duration, find_policy
from aicc.platform.workdays import (
    InvalidCalendarFile,
    WorkdayCalendarError,
    add_working_days,
    deadline_after,
    is_working_day,
    known_years,
    refusal,
)
from services.intake.domain.cycles import plan

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "policies" / "calendars"
FIXTURE = ROOT / "tests" / "fixtures" / "calendars" / "2027.yaml"
D = dt.date


@pytest.fixture
def cal_dir(tmp_path, monkeypatch) -> Path:
    """An empty calendar directory in force (AICC_CALENDAR_DIR)."""
    d = tmp_path / "calendars"
    d.mkdir()
    monkeypatch.setenv("AICC_CALENDAR_DIR", str(d))
    return d


@pytest.fixture
def with_2027(cal_dir) -> Path:
    shutil.copy(FIXTURE, cal_dir / "2027.yaml")
    return cal_dir


def fixture_data() -> dict:
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))


def _days(name: str, first: D, last: D) -> dict:
    return {"name": name, "name_en": name, "from": first, "to": last}


def check(data: dict) -> list[str]:
    with pytest.raises(CalendarFileError) as e:
        load_calendar_text(yaml.safe_dump(data, allow_unicode=True).encode(), source="x/2027.yaml")
    return e.value.problems


# ---------------------------------------------------------------- the committed files


@pytest.mark.parametrize("year", [2025, 2026])
def test_committed_file_agrees_with_the_package_on_every_day(year):
    cal = load_calendar_file(SHIPPED / f"{year}.yaml")
    assert cal.year == year
    assert cal.notice.document_no.startswith("国办发明电")
    day, differ = D(year, 1, 1), []
    while day.year == year:
        if cal.is_working_day(day) != chinese_calendar.is_workday(day):
            differ.append(day)
        day += dt.timedelta(days=1)
    assert differ == []
    assert set(cal.adjusted_working_days) == {d for d in chinese_calendar.workdays if d.year == year}
    assert cal.holiday_dates == {d for d in chinese_calendar.holidays if d.year == year}


def test_committed_files_are_what_the_generator_writes():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_calendars.py"), "--check", "2025", "2026"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_2026_file_transcribes_the_notice():
    cal = load_calendar_file(SHIPPED / "2026.yaml")
    assert cal.notice.document_no == "国办发明电〔2025〕7号"
    assert cal.notice.published_on == D(2025, 11, 4)
    spring = next(h for h in cal.holidays if h.name == "春节")
    assert (spring.first, spring.last) == (D(2026, 2, 15), D(2026, 2, 23))  # 共9天
    assert cal.adjusted_working_days == (
        D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)
    )  # fmt: skip


def test_the_files_decide_the_year_when_the_package_would_not(cal_dir):
    """The file, not the package, is consulted for a year it covers: a (deliberately altered) 2026
    file changes the answer."""
    data = yaml.safe_load((SHIPPED / "2026.yaml").read_text(encoding="utf-8"))
    data["adjusted_working_days"].remove(D(2026, 10, 10))
    (cal_dir / "2026.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert chinese_calendar.is_workday(D(2026, 10, 10))
    assert not is_working_day(D(2026, 10, 10))


# ---------------------------------------------------------------- a 2027 year from a file


def test_2027_publicity_of_five_working_days_from_the_fixture(with_2027):
    # Tue 09-28 09:00: Wed 29, Thu 30, [Oct 1-7 National Day], Fri 10-08, Sat 10-09 (adjusted), Mon 10-11
    start = dt.datetime(2027, 9, 28, 9, 0, tzinfo=SHANGHAI)
    end = deadline_after(start, working_days=5)
    assert end == dt.datetime(2027, 10, 11, 9, 0, tzinfo=SHANGHAI)
    assert end.tzinfo == dt.UTC
    assert add_working_days(D(2027, 9, 24), 1) == D(2027, 9, 26)  # Fri -> the adjusted Sunday
    assert not is_working_day(D(2027, 10, 4))  # a Monday inside the holiday
    assert known_years() == (2004, 2027)


def test_a_span_from_2026_into_2027_uses_the_package_then_the_file(with_2027):
    # Thu 2026-12-31 + 1: 2027-01-01..03 are the fixture's New Year holiday, Mon 01-04 the next working day
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_a_year_without_a_calendar_names_the_file_to_add(monkeypatch):
    monkeypatch.delenv("AICC_CALENDAR_DIR", raising=False)
    with pytest.raises(WorkdayCalendarError) as e:
        deadline_after(dt.datetime(2027, 3, 1, 9, tzinfo=SHANGHAI), working_days=5)
    assert e.value.year == 2027
    assert e.value.file == "policies/calendars/2027.yaml"
    assert "Add policies/calendars/2027.yaml" in e.value.en
    assert "添加 policies/calendars/2027.yaml" in e.value.zh
    assert "2027年法定节假日安排未知" in str(e.value)


def test_a_year_without_a_calendar_names_the_mounted_directory(cal_dir):
    with pytest.raises(WorkdayCalendarError) as e:
        add_working_days(D(2026, 12, 28), 5)  # crosses into 2027
    assert e.value.file == str(cal_dir / "2027.yaml")
    assert str(cal_dir / "2027.yaml") in str(e.value)


def test_a_file_after_a_gap_is_used_but_does_not_widen_known_years(cal_dir):
    data = fixture_data()
    data["adjusted_working_days"] = []
    text = (
        yaml.safe_dump(data, allow_unicode=True).replace("2027-", "2029-").replace("year: 2027", "year: 2029")
    )
    (cal_dir / "2029.yaml").write_text(text, encoding="utf-8")
    assert known_years() == (2004, 2026)
    assert not is_working_day(D(2029, 10, 2))
    with pytest.raises(WorkdayCalendarError, match="2028"):
        is_working_day(D(2028, 3, 1))


def test_new_year_spill_into_december_is_decided_by_next_years_file(with_2027):
    data = fixture_data()
    data["year"] = 2028
    data["holidays"] = [
        {"name": "元旦", "name_en": "New Year's Day", "from": D(2027, 12, 30), "to": D(2028, 1, 1)}
    ]
    data["adjusted_working_days"] = [D(2027, 12, 26)]  # a Sunday
    (with_2027 / "2028.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert not is_working_day(D(2027, 12, 30))  # a Thursday, off by the 2028 notice
    assert is_working_day(D(2027, 12, 26))
    assert is_working_day(D(2027, 12, 29))
    assert add_working_days(D(2027, 12, 29), 1) == D(2028, 1, 3)


def test_a_changed_file_is_read_again(with_2027):
    assert is_working_day(D(2027, 10, 9))
    data = fixture_data()
    data["adjusted_working_days"].remove(D(2027, 10, 9))
    path = with_2027 / "2027.yaml"
    st = path.stat()
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not is_working_day(D(2027, 10, 9))


# ---------------------------------------------------------------- invalid files are refused


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["holidays"].append(_days("元旦", D(2027, 12, 31), D(2028, 1, 1))),
            "2028-01-01 is not in 2027",
        ),
        (
            lambda d: d["holidays"].append(_days("冬至", D(2026, 12, 28), D(2026, 12, 29))),
            "only a New Year's Day",
        ),
        (lambda d: d["adjusted_working_days"].append(D(2027, 9, 28)), "is a Tuesday"),
        (lambda d: d["adjusted_working_days"].append(D(2027, 10, 2)), "both a working day and a holiday"),
        (lambda d: d["adjusted_working_days"].append(D(2026, 9, 26)), "2026-09-26 is not in 2027"),
        (
            lambda d: d["holidays"][0].update({"name": " "}),
            "holidays[0].name: Value error, must be a non-empty",
        ),
        (lambda d: d["holidays"][0].update({"name_en": ""}), "holidays[0].name_en"),
        (lambda d: d["holidays"][1].update({"to": D(2027, 2, 1)}), "'to' 2027-02-01 is before 'from'"),
        (lambda d: d["holidays"][1].update({"to": D(2027, 3, 31)}), "55 days"),
        (lambda d: d["holidays"][1].update({"from": "Feb 5"}), "'Feb 5' is not a date"),
        (lambda d: d["holidays"][1].update({"from": dt.datetime(2027, 2, 5, 8)}), "without a time of day"),
        (lambda d: d["holidays"].append(dict(d["holidays"][2])), "2027-10-01 is already in holidays[2]"),
        (lambda d: d.update({"holidays": []}), "holidays: List should have at least 1 item"),
        (lambda d: d["notice"].update({"document_no": ""}), "notice.document_no"),
        (lambda d: d["notice"].update({"source_url": "gov.cn"}), "notice.source_url"),
        (lambda d: d.update({"holiday": []}), "holiday: Extra inputs are not permitted"),
        (lambda d: d.update({"year": 2026}), "year: 2026, but the file is named for 2027"),
        (lambda d: d["notice"].update({"published_on": D(2028, 1, 5)}), "is after the year 2027"),
    ],
)
def test_an_invalid_file_is_refused_with_the_reason(change, problem):
    data = fixture_data()
    change(data)
    with pytest.raises(CalendarFileError) as e:
        load_calendar_text(
            yaml.safe_dump(data, allow_unicode=True).encode(), source="x/2027.yaml", expect_year=2027
        )
    assert any(problem in p for p in e.value.problems), e.value.problems
    assert "x/2027.yaml" in str(e.value)


def test_a_valid_spill_is_accepted_and_every_problem_is_listed():
    data = fixture_data()
    data["holidays"][0].update({"from": D(2026, 12, 31)})  # New Year from 31 December: allowed
    assert load_calendar_text(yaml.safe_dump(data, allow_unicode=True).encode(), source="s").spill() == {
        D(2026, 12, 31): False
    }
    data["adjusted_working_days"] += [D(2027, 9, 28), D(2027, 10, 2)]
    assert len(check(data)) == 2


def test_bad_yaml_and_bad_names_are_refused(tmp_path):
    with pytest.raises(CalendarFileError, match="YAML syntax error"):
        load_calendar_text(b"year: [2027\n", source="y")
    bad = tmp_path / "calendar-2027.yaml"
    shutil.copy(FIXTURE, bad)
    with pytest.raises(CalendarFileError, match=r"must be <year>\.yaml"):
        load_calendar_file(bad)


def test_an_invalid_file_in_the_directory_is_never_skipped(cal_dir):
    (cal_dir / "2027.yaml").write_text(
        FIXTURE.read_text(encoding="utf-8").replace("  - 2027-09-26  # Sunday", "  - 2027-09-27"),
        encoding="utf-8",
    )
    with pytest.raises(InvalidCalendarFile) as e:
        deadline_after(dt.datetime(2027, 9, 28, 9, tzinfo=SHANGHAI), working_days=5)
    assert e.value.file == str(cal_dir / "2027.yaml")
    assert "2027-09-27 is a Monday" in e.value.en
    assert isinstance(e.value, WorkdayCalendarError)  # the workflow needs attention, it does not fail
    refused = refusal(e.value)
    assert refused.reason == "INVALID_WORKDAY_CALENDAR"
    assert refused.metadata == {"year": "2027", "file": str(cal_dir / "2027.yaml")}


# ---------------------------------------------------------------- intake refuses, the CLI checks


def test_intake_refuses_a_call_whose_dates_need_an_unknown_year(cal_dir):
    p = find_policy("shandong-2026")
    p = p.model_copy(
        update={"schedule": p.schedule.model_copy(update={"application_window": Duration(working_days=10)})}
    )
    with pytest.raises(FailedPrecondition) as e:
        plan(p, dt.datetime(2027, 3, 1, 1, tzinfo=dt.UTC))
    assert e.value.reason == "NO_WORKDAY_CALENDAR"
    assert e.value.metadata == {"year": "2027", "file": str(cal_dir / "2027.yaml")}
    assert "2027年" in e.value.message_zh
    shutil.copy(FIXTURE, cal_dir / "2027.yaml")
    assert plan(p, dt.datetime(2027, 3, 1, 1, tzinfo=dt.UTC)).applications_close_at.date() == D(2027, 3, 15)


def test_cli_check_prints_each_file_and_fails_on_a_bad_one(with_2027, capsys):
    assert aicc(["calendar", "check"]) == 0
    out = capsys.readouterr().out
    assert "OK " in out
    assert "year 2027" in out
    assert "TEST-FIXTURE-2027" in out
    assert "3 holidays (17 days off), 3 adjusted working days" in out
    assert load_calendar_file(with_2027 / "2027.yaml").sha256 in out
    assert aicc(["calendar", "check", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert "国办发明电〔2024〕12号" in out
    assert "国办发明电〔2025〕7号" in out
    (with_2027 / "2028.yaml").write_text("year: 2028\n", encoding="utf-8")
    assert aicc(["calendar", "check", str(with_2027)]) == 1
    out = capsys.readouterr().out
    assert f"OK {with_2027 / '2027.yaml'}" in out
    assert f"INVALID {with_2027 / '2028.yaml'}" in out
    assert "notice: Field required" in out
