"""Time as the programme keeps it: stored in UTC, shown and counted in Beijing time (Asia/Shanghai).

The one place for the zone and for "now": every service and the CLI take them from here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(UTC)


def beijing_date(at: datetime) -> date:
    """The calendar day in Beijing of an aware instant (a deadline at 23:30 UTC is the next day)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: give an aware (UTC) instant")
    return at.astimezone(SHANGHAI).date()


def beijing_text(at: datetime) -> str:
    """An instant as officials read it: ``2026-12-05 09:30 (北京时间)``."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + "（北京时间）"
