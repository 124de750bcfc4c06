import datetime as dt

import chinese_calendar
import pytest

from aicc.platform.workdays import WorkdayCalendarError, add_working_days, is_working_day, known_years

D = dt.date


def test_national_day_2026_calendar_as_published():
    # chinese_calendar 2026: 10-01..10-07 holiday (Thu..Wed), 10-08/09 working, Sat 10-10 adjusted workday
    for day in range(1, 8):
        assert not chinese_calendar.is_workday(D(2026, 10, day))
        assert not is_working_day(D(2026, 10, day))
    assert is_working_day(D(2026, 10, 8))
    assert is_working_day(D(2026, 10, 10))  # Saturday made a working day (调休)
    assert not is_working_day(D(2026, 10, 11))


def test_span_across_national_day_2026():
    # from Wed 09-30: next working days are 10-08, 10-09, 10-10 (adjusted Saturday), 10-12, 10-13
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)
    # publicity of 5 working days starting Tue 09-29: 09-30, 10-08, 10-09, 10-10, 10-12
    assert add_working_days(D(2026, 9, 29), 5) == D(2026, 10, 12)


def test_ordinary_week_and_zero_and_backwards():
    assert add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)  # Fri -> Mon
    assert add_working_days(D(2026, 3, 6), 0) == D(2026, 3, 6)
    assert add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)


def test_unknown_year_refused_with_bilingual_message():
    lo, hi = known_years()
    unknown = hi + 1
    with pytest.raises(WorkdayCalendarError) as ei:
        add_working_days(D(unknown, 3, 2), 3)
    msg = str(ei.value)
    assert str(unknown) in msg
    assert f"{unknown}年" in msg
    assert isinstance(ei.value, ValueError)
    assert ei.value.year == unknown
    # a span that crosses into the unknown year is refused too
    with pytest.raises(WorkdayCalendarError, match=str(unknown)):
        add_working_days(D(hi, 12, 28), 10)


def test_extra_known_year_counts_weekdays_only():
    unknown = known_years()[1] + 1
    jan1 = D(unknown, 1, 1)
    got = add_working_days(jan1, 5, extra_known_years=[unknown])
    d, n = jan1, 0
    while n < 5:
        d += dt.timedelta(days=1)
        n += d.weekday() < 5
    assert got == d
    # crossing from a known year into the listed year works
    assert add_working_days(D(known_years()[1], 12, 31), 1, extra_known_years={unknown}).year == unknown
