"""SLA profile: working days of the Chinese national calendar, recovery hours, duties.

The 2026 holiday dates are the State Council's (国务院办公厅关于2026年部分节假日安排的通知,
国办发明电〔2025〕7号):
- 春节 Spring Festival: 15-23 February off (9 days); Saturday 14 and Saturday 28 February worked.
- 国庆节 National Day: 1-7 October off (7 days); Sunday 20 September and Saturday 10 October worked.
- 中秋节 Mid-Autumn: 25-27 September off.
"""

from __future__ import annotations

import datetime
import doctest
import json

import pytest

import inventory.geo.sla as sla_module
from inventory.errors import InventoryError, ValidationError
from inventory.geo.sla import (
    CalendarNotCovered,
    add_working_days,
    calendar_coverage,
    is_working_day,
    recovery_time,
    sla_profile,
    working_days_between,
)

D = datetime.date


def test_doctests():
    assert doctest.testmod(sla_module).failed == 0


def test_2026_holidays_and_make_up_days():
    for day in range(15, 24):
        assert is_working_day(D(2026, 2, day)) == (False, False), day
    for day in range(1, 8):
        assert is_working_day(D(2026, 10, day))[0] is False, day
    for make_up in (D(2026, 2, 14), D(2026, 2, 28), D(2026, 9, 20), D(2026, 10, 10)):
        assert make_up.weekday() >= 5 and is_working_day(make_up)[0], make_up
    assert is_working_day(D(2026, 2, 24))[0] and is_working_day(D(2026, 10, 8))[0]
    assert not is_working_day(D(2026, 9, 25))[0]          # Mid-Autumn, a Friday


@pytest.mark.parametrize(("start", "days", "due"), [
    (D(2026, 2, 13), 1, D(2026, 2, 14)),      # Friday → the make-up Saturday
    (D(2026, 2, 14), 1, D(2026, 2, 24)),      # then nine days off
    (D(2026, 2, 12), 3, D(2026, 2, 24)),
    (D(2026, 2, 12), 5, D(2026, 2, 26)),
    (D(2026, 2, 27), 1, D(2026, 2, 28)),      # second make-up Saturday
    (D(2026, 2, 18), 1, D(2026, 2, 24)),      # requested during the holiday
    (D(2026, 9, 18), 1, D(2026, 9, 20)),      # Friday → make-up Sunday
    (D(2026, 9, 24), 1, D(2026, 9, 28)),      # over Mid-Autumn
    (D(2026, 9, 30), 1, D(2026, 10, 8)),
    (D(2026, 9, 30), 3, D(2026, 10, 10)),     # the make-up Saturday counts
    (D(2026, 9, 30), 4, D(2026, 10, 12)),
    (D(2026, 3, 2), 0, D(2026, 3, 2)),
])
def test_add_working_days(start, days, due):
    assert add_working_days(start, days) == due


def test_working_days_between():
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 28)) == 6   # 14, 24, 25, 26, 27, 28
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4
    with pytest.raises(ValidationError):
        add_working_days(D(2026, 3, 2), -1)


def test_calendar_coverage_is_stated_and_enforced():
    first, last = calendar_coverage()
    assert first == 2004 and last >= 2026
    with pytest.raises(CalendarNotCovered, match=f"covers {first}-{last}") as info:
        is_working_day(D(last + 1, 1, 5))
    assert isinstance(info.value, InventoryError)
    with pytest.raises(CalendarNotCovered):
        add_working_days(D(last, 12, 30), 5)
    with pytest.raises(CalendarNotCovered):
        is_working_day(D(first - 1, 6, 1))


def test_estimate_beyond_coverage_is_flagged():
    _, last = calendar_coverage()
    assert last == 2026  # pyproject pins chinese-calendar 1.11.x, whose data ends with 2026
    # 6 working days: 2026-12-31 Thu (1), 2027-01-01 New Year (fixed date, off), Sat/Sun,
    # 01-04 Mon (2) … 01-08 Fri (6)
    profile = sla_profile("STANDARD", 10.0, D(2026, 12, 30), strict=False)
    assert profile.resource_confirmation_due == D(2027, 1, 8)
    assert profile.calendar_estimated
    assert any("estimated" in n for n in profile.notes)
    with pytest.raises(CalendarNotCovered):
        sla_profile("STANDARD", 10.0, D(2026, 12, 30))


def test_profile_within_band_gold():
    profile = sla_profile("金牌", 12.5, "2026-02-12")
    assert profile.tier == "GOLD" and profile.distance.within
    assert profile.resource_confirmation_working_days == 3
    assert profile.resource_confirmation_due == D(2026, 2, 24)
    assert profile.provisioning_working_days == 2
    assert profile.provisioning_due == D(2026, 2, 14)
    assert profile.recovery.total_limit_hours == 3 and profile.recovery.total_target_hours == 1
    assert profile.feedback_interval_minutes == 30 and profile.written_report_working_days == 3
    assert profile.operation_report == "monthly" and profile.inspection and profile.health_check
    assert profile.annual_outage_hours == 8 and profile.max_cable_cuts_per_year == 5


def test_profile_beyond_band_with_cable_cut():
    profile = sla_profile("BRONZE", 80.0, D(2026, 9, 30), cable_cut=True)
    assert not profile.distance.within and profile.distance.beyond_km == 30.0
    assert profile.resource_confirmation_working_days == 9
    assert profile.provisioning_working_days == 6
    assert profile.provisioning_due == add_working_days(D(2026, 9, 30), 6) == D(2026, 10, 14)
    # limit 5 h + 30 km / 50 km/h + 3 h cable cut
    assert profile.recovery.travel_hours == 0.6
    assert profile.recovery.total_limit_hours == pytest.approx(8.6)
    assert profile.recovery.total_target_hours == pytest.approx(6.6)
    assert profile.feedback_interval_minutes == 0
    data = profile.as_dict()
    assert data["feedback"] == "not required" and data["written_report"] == "on request"
    json.dumps(data)
    assert {"item": "recovery.total_limit_hours", "value": 8.6} in profile.as_rows()


def test_unknown_distance_uses_the_stricter_column():
    profile = sla_profile("SILVER", None, D(2026, 3, 2))
    assert profile.resource_confirmation_working_days == 4
    assert not profile.distance.known and profile.notes


def test_recovery_deadline():
    start = datetime.datetime(2026, 10, 1, 22, 0)
    rec = recovery_time("SILVER", 10.0, cable_cut=True, fault_start=start)
    assert rec.total_limit_hours == 7.0
    assert rec.deadline == datetime.datetime(2026, 10, 2, 5, 0)      # clock hours, 7×24
    assert rec.as_dict()["deadline"] == "2026-10-02T05:00"
