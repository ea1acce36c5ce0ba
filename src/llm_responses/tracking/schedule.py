"""When a project runs: daily or weekly at a time, or a cron expression, in a time zone (DST included:
``cronsim`` evaluates the expression in local time, as cron does).

A *period* is one slot of the schedule, named by its start (``2026-12-07T09:00:00+01:00``). The scheduler
claims the latest slot that has started (``latest``), never the ones a stopped server missed before it, and
then waits for the one after now (``following``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, model_validator

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")  # cron's 0..6


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Literal["day", "week", "cron"] = "day"
    at: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time, HH:MM
    weekday: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]
    cron: str | None = Field(default=None, max_length=100)  # every = "cron": five fields, as crontab
    timezone: str = Field(default="UTC", max_length=64)

    @model_validator(mode="after")
    def _valid(self) -> Schedule:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.timezone!r}: an IANA name, e.g. Europe/Paris"
            ) from None
        if self.every == "cron":
            if not self.cron:
                raise ValueError('every = "cron" needs cron = "<minute> <hour> <day> <month> <weekday>"')
            try:
                CronSim(self.cron, datetime.now(UTC))
            except CronSimError as exc:
                raise ValueError(f"not a cron expression: {exc}") from None
            if len(self.cron.split()) != 5:
                raise ValueError("a cron expression has five fields (no seconds)")
        elif self.cron is not None:
            raise ValueError('cron is read only with every = "cron"')
        return self

    @property
    def expression(self) -> str:
        hour, minute = (int(x) for x in self.at.split(":"))
        if self.every == "day":
            return f"{minute} {hour} * * *"
        if self.every == "week":
            return f"{minute} {hour} * * {WEEKDAYS.index(self.weekday)}"
        assert self.cron is not None
        return self.cron

    def _local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, ZoneInfo(self.timezone))

    def latest(self, now: float) -> datetime:
        """The start of the latest slot at or before ``now`` (the period a run at ``now`` belongs to)."""
        after = self._local(now).replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(self.expression, after, reverse=True))

    def following(self, now: float) -> datetime:
        """The start of the first slot after ``now``."""
        return next(CronSim(self.expression, self._local(now)))


def period_name(slot: datetime) -> str:
    return slot.isoformat()
