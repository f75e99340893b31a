"""The SLA profile of a site: domain-rules §3 (due dates in working days) and §4 (fault
recovery, outage budget, feedback, reports, inspections), from its tier and distance band.

Working days follow the Chinese national calendar — weekends, public holidays and the 调休
make-up working days — from the ``chinese-calendar`` package, which carries the State
Council's published schedule for each year (2004 through :func:`calendar_coverage`'s last year;
1.11.0 ends with 2026). A date outside those years raises :class:`CalendarNotCovered`, or, with
``strict=False``, is counted Monday–Friday minus the fixed-date statutory holidays and flagged
``calendar_estimated``.

>>> add_working_days(datetime.date(2026, 2, 13), 1)      # Friday before the Spring Festival
datetime.date(2026, 2, 14)
>>> add_working_days(datetime.date(2026, 2, 14), 1)      # the make-up Saturday, then 9 days off
datetime.date(2026, 2, 24)
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import asdict, dataclass, field
from typing import Any

import chinese_calendar

from inventory.errors import InventoryError, ValidationError
from inventory.geo.measure import DistanceBand, distance_band
from inventory.model import Policy, Tier, default_policy, tier_policy


class CalendarNotCovered(InventoryError):
    """A date outside the years the national holiday calendar package knows."""

    def __init__(self, day: datetime.date):
        first, last = calendar_coverage()
        super().__init__(
            f"{day.isoformat()} is outside the Chinese holiday calendar "
            f"(chinese-calendar {chinese_calendar.__version__} covers {first}-{last}): upgrade "
            "chinese-calendar once the State Council has published that year's schedule, "
            "or accept an estimate (weekends and fixed-date holidays only)")
        self.day = day


@functools.cache  # the installed calendar does not change; a site page asks ~30 times
def calendar_coverage() -> tuple[int, int]:
    """The first and last year of the installed national calendar."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


# Statutory holidays on fixed solar dates (全国年节及纪念日放假办法, 2024 revision): used only for
# estimates beyond the calendar's coverage; the lunar holidays and 调休 cannot be predicted.
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: datetime.date, strict: bool = True) -> tuple[bool, bool]:
    """``(working, estimated)`` for a date; ``estimated`` is True when the date is outside the
    calendar's coverage and ``strict`` is False."""
    first, last = calendar_coverage()
    if first <= day.year <= last:
        return bool(chinese_calendar.is_workday(day)), False
    if strict:
        raise CalendarNotCovered(day)
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS, True


def add_working_days(start: datetime.date, days: int, strict: bool = True) -> datetime.date:
    """The date ``days`` working days after ``start``.

    (policy) The request day itself is not counted, whatever it is: a request on Monday with
    2 working days is due on Wednesday; a request on a holiday counts from the first working
    day after it (that day is day 1). ``days = 0`` returns ``start``.
    """
    return _add(start, days, strict)[0]


def _add(start: datetime.date, days: int, strict: bool) -> tuple[datetime.date, bool]:
    if isinstance(start, datetime.datetime):
        start = start.date()
    if days < 0:
        raise ValidationError("days", days, "working days cannot be negative")
    day, left, estimated = start, days, False
    while left > 0:
        day += datetime.timedelta(days=1)
        working, guessed = is_working_day(day, strict)
        estimated = estimated or guessed
        if working:
            left -= 1
    return day, estimated


def working_days_between(start: datetime.date, end: datetime.date, strict: bool = True) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end ≤ start)."""
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        count += is_working_day(day, strict)[0]
    return count


def parse_date(value: str | datetime.date | None) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value.date() if isinstance(value, datetime.datetime) else value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError("date", value, "expected a date like 2026-03-02")


# --- fault recovery ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecoveryTime:
    """§4 fault recovery for one tier, distance and fault kind."""

    tier: str
    limit_hours: float            # the tier's limit (the larger number of "6–4 h")
    target_hours: float           # the tier's target (the smaller number)
    travel_hours: float           # distance beyond the band at the travel speed
    cable_cut: bool
    cable_cut_extra_hours: float  # added when the fault is a cable cut, else 0
    total_limit_hours: float      # limit + travel + cable-cut allowance
    total_target_hours: float     # target + travel + cable-cut allowance
    deadline: datetime.datetime | None = None          # fault start + total limit
    target_deadline: datetime.datetime | None = None   # fault start + total target

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("deadline", "target_deadline"):
            data[key] = data[key].isoformat(timespec="minutes") if data[key] else None
        return data


def recovery_time(tier: Tier | str, distance_km: float | None = None, cable_cut: bool = False,
                  fault_start: datetime.datetime | None = None,
                  policy: Policy | None = None) -> RecoveryTime:
    """The recovery limit and target for a fault ``distance_km`` (geodesic) from the maintenance
    point. (policy) travel time and the cable-cut allowance are added to both the limit and the
    target; recovery hours are clock hours (7×24), not working hours.

    >>> r = recovery_time("GOLD", 80.0, cable_cut=True)
    >>> r.total_limit_hours, r.total_target_hours
    (6.6, 4.6)
    """
    policy = policy or default_policy()
    rules = tier_policy(tier, policy)
    band = distance_band(distance_km, policy)
    extra = policy.distance.cable_cut_extra_hours if cable_cut else 0.0
    limit = round(rules.recovery_limit_hours + band.travel_hours + extra, 3)
    target = round(rules.recovery_target_hours + band.travel_hours + extra, 3)
    deadline = target_deadline = None
    if fault_start is not None:
        deadline = fault_start + datetime.timedelta(hours=limit)
        target_deadline = fault_start + datetime.timedelta(hours=target)
    return RecoveryTime(rules.tier, rules.recovery_limit_hours, rules.recovery_target_hours,
                        band.travel_hours, cable_cut, extra, limit, target, deadline,
                        target_deadline)


# --- the profile ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlaProfile:
    """Everything a site is owed under §3-§4."""

    tier: str
    tier_zh: str
    distance: DistanceBand
    requested: datetime.date | None
    resource_confirmation_working_days: int
    resource_confirmation_due: datetime.date | None
    provisioning_working_days: int
    provisioning_due: datetime.date | None
    calendar_estimated: bool          # a due date fell outside the calendar's years
    recovery: RecoveryTime
    annual_outage_hours: float
    max_cable_cuts_per_year: int
    feedback_interval_minutes: int    # 0 = no progress feedback is owed
    verbal_result_minutes: int
    written_report_working_days: int  # 0 = on request
    operation_report: str
    inspection: bool
    health_check: bool
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier, "tier_zh": self.tier_zh,
            "distance": self.distance.as_dict(),
            "requested": _iso(self.requested),
            "resource_confirmation_working_days": self.resource_confirmation_working_days,
            "resource_confirmation_due": _iso(self.resource_confirmation_due),
            "provisioning_working_days": self.provisioning_working_days,
            "provisioning_due": _iso(self.provisioning_due),
            "calendar_estimated": self.calendar_estimated,
            "recovery": self.recovery.as_dict(),
            "annual_outage_hours": self.annual_outage_hours,
            "max_cable_cuts_per_year": self.max_cable_cuts_per_year,
            "feedback_interval_minutes": self.feedback_interval_minutes,
            "feedback": (f"every {self.feedback_interval_minutes} min"
                         if self.feedback_interval_minutes else "not required"),
            "verbal_result_minutes": self.verbal_result_minutes,
            "written_report_working_days": self.written_report_working_days,
            "written_report": (f"within {self.written_report_working_days} working days"
                               if self.written_report_working_days else "on request"),
            "operation_report": self.operation_report,
            "inspection": self.inspection,
            "health_check": self.health_check,
            "notes": list(self.notes),
        }

    def as_rows(self) -> list[dict[str, Any]]:
        """``[{"item", "value"}]`` for a two-column table."""
        flat: list[dict[str, Any]] = []
        for key, value in self.as_dict().items():
            if isinstance(value, dict):
                flat += [{"item": f"{key}.{k}", "value": v} for k, v in value.items()]
            else:
                flat.append({"item": key, "value": value})
        return flat


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def sla_profile(tier: Tier | str, distance_km: float | None,
                requested: datetime.date | str | None = None, cable_cut: bool = False,
                fault_start: datetime.datetime | None = None, policy: Policy | None = None,
                strict: bool = True) -> SlaProfile:
    """The SLA profile of a site of ``tier`` at ``distance_km`` (geodesic, maintenance point →
    site; the policy's road factor is applied here).

    ``requested`` gives due dates; with ``strict`` a due date beyond the calendar's coverage raises
    :class:`CalendarNotCovered`, otherwise it is estimated and flagged.

    >>> p = sla_profile("SILVER", 12.0, "2026-09-30")
    >>> p.resource_confirmation_due.isoformat(), p.provisioning_due.isoformat()
    ('2026-10-12', '2026-10-10')
    """
    policy = policy or default_policy()
    rules = tier_policy(tier, policy)
    band = distance_band(distance_km, policy)
    requested = parse_date(requested)
    column = band.column()
    confirm_days = rules.resource_confirmation_days[column]
    provision_days = rules.provisioning_days[column]
    notes = []
    if not band.known:
        notes.append("distance to the maintenance point unknown: the within-band (stricter) "
                     "column is used")
    confirm_due = provision_due = None
    estimated = False
    if requested is not None:
        confirm_due, est1 = _add(requested, confirm_days, strict)
        provision_due, est2 = _add(requested, provision_days, strict)
        estimated = est1 or est2
        if estimated:
            first, last = calendar_coverage()
            notes.append(f"due dates beyond {last} are estimated (weekends and fixed-date "
                         f"holidays only): the installed calendar covers {first}-{last}")
    recovery = recovery_time(tier, distance_km, cable_cut, fault_start, policy)
    return SlaProfile(
        tier=rules.tier, tier_zh=rules.label_zh, distance=band, requested=requested,
        resource_confirmation_working_days=confirm_days, resource_confirmation_due=confirm_due,
        provisioning_working_days=provision_days, provisioning_due=provision_due,
        calendar_estimated=estimated, recovery=recovery,
        annual_outage_hours=rules.annual_outage_hours,
        max_cable_cuts_per_year=policy.distance.max_cable_cuts_per_year,
        feedback_interval_minutes=rules.feedback_interval_minutes,
        verbal_result_minutes=rules.verbal_result_minutes,
        written_report_working_days=rules.written_report_working_days,
        operation_report=rules.operation_report, inspection=rules.inspection,
        health_check=rules.health_check, notes=tuple(notes))
