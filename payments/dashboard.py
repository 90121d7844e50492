"""The supervisors' dashboard (admin → Dashboard): what is in flight now, how the last hour and
the last day went, what waits, and two small charts drawn as SVG on the server.

It must stay cheap while a screen refreshes it every few seconds over a table of millions:
six aggregate queries, each on an indexed column (state, created_at, the partial indexes of
the work queues and of the poller's schedule), whatever the table holds.
"""

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from payments.models import Payment, WebhookDelivery
from payments.selectors import work_queue_counts

State = Payment.State
# What a supervisor reads a window by: what the caller's payment came to.
OUTCOMES = {
    "approved": (State.APPROVED,),
    "declined": (State.DECLINED, State.ERROR),
    "abandoned": (State.ABANDONED, State.EXPIRED, State.FAILED_TO_START),
    "unknown": (State.UNKNOWN,),
}
# Ended with a gateway's answer: these have a time to result.
ANSWERED = (State.APPROVED, State.DECLINED, State.ERROR, State.ABANDONED)
# Rows of "in flight now" shown (per flow and agent); the total is always whole.
IN_FLIGHT_ROWS = 30
CHART_HOURS = 24


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont over an interval (the time to result)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=fraction, **extra)


@dataclass(frozen=True)
class Window:
    """One window's outcomes (payments started in it) and time to result."""

    name: str
    counts: dict[str, int]
    median: timedelta | None
    p95: timedelta | None

    @property
    def ended(self) -> int:
        return sum(self.counts.values())

    @property
    def approval_rate(self) -> str:
        """Approved among the payments that ended (unknown ones aside), as a percentage."""
        decided = self.ended - self.counts["unknown"]
        return f"{100 * self.counts['approved'] / decided:.0f} %" if decided else "-"

    @property
    def median_text(self) -> str:
        return _seconds(self.median)

    @property
    def p95_text(self) -> str:
        return _seconds(self.p95)


def _seconds(duration: timedelta | None) -> str:
    return "-" if duration is None else f"{duration.total_seconds():.1f} s"


@dataclass(frozen=True)
class Bar:
    """One hour's stacked bar: its x, and each outcome's (y, height) in chart units."""

    hour: datetime
    x: float
    parts: list[tuple[str, float, float, int]]
    total: int


@dataclass(frozen=True)
class InFlight:
    """Live payments of one flow and agent."""

    flow: str
    agent: str
    count: int


@dataclass
class Dashboard:
    now: datetime
    in_flight: list[InFlight]
    in_flight_total: int
    in_flight_pairs: int
    windows: list[Window]
    queues: dict[str, int]
    bars: list[Bar] = field(default_factory=list)
    bar_width: float = 0.0
    peak: int = 0
    rate_points: str = ""


def _window_aggregates(since: dict[str, datetime]) -> dict[str, Any]:
    """Outcome counts per window, and on PostgreSQL the time to result: one query."""
    took = F("finished_at") - F("session_started_at")
    aggregates: dict[str, Any] = {}
    for window, start in since.items():
        started = Q(created_at__gte=start)
        for outcome, states in OUTCOMES.items():
            aggregates[f"{window}_{outcome}"] = Count("pk", filter=started & Q(state__in=states))
        if connection.vendor == "postgresql":
            answered = started & Q(state__in=ANSWERED, session_started_at__isnull=False)
            for name, fraction in (("median", 0.5), ("p95", 0.95)):
                aggregates[f"{window}_{name}"] = Percentile(took, fraction, filter=answered)
    return Payment.objects.filter(created_at__gte=min(since.values())).aggregate(**aggregates)


def _percentiles_elsewhere(since: dict[str, datetime], row: dict[str, Any]) -> None:
    """Not PostgreSQL (a laptop's SQLite): the times to result, added up here (one query)."""
    earliest = min(since.values())
    took = list(
        Payment.objects.filter(
            created_at__gte=earliest, state__in=ANSWERED, session_started_at__isnull=False
        )
        .order_by()
        .values_list("created_at", "session_started_at", "finished_at")
    )
    for window, start in since.items():
        times = sorted(
            done - began for created, began, done in took if created >= start and began and done
        )
        seconds = [t.total_seconds() for t in times]
        row[f"{window}_median"] = timedelta(seconds=statistics.median(seconds)) if seconds else None
        row[f"{window}_p95"] = times[min(len(times) - 1, int(0.95 * len(times)))] if times else None


def _chart(dashboard: Dashboard, hourly: Iterable[Mapping[str, Any]]) -> None:
    """Stacked bars of the last 24 hours' outcomes and the approval rate's line."""
    first = dashboard.now.replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=CHART_HOURS - 1
    )
    counts: dict[datetime, dict[str, int]] = {
        first + timedelta(hours=h): dict.fromkeys([*OUTCOMES, "live"], 0)
        for h in range(CHART_HOURS)
    }
    outcome_of = {state: name for name, states in OUTCOMES.items() for state in states}
    for row in hourly:
        hour = row["hour"]
        if hour in counts:
            counts[hour][outcome_of.get(row["state"], "live")] += row["n"]
    dashboard.peak = max([sum(c.values()) for c in counts.values()] + [1])
    width = 100 / CHART_HOURS
    dashboard.bar_width = width * 0.8
    points = []
    for index, (hour, by_outcome) in enumerate(counts.items()):
        y, parts = 100.0, []
        for outcome in ("approved", "declined", "abandoned", "unknown", "live"):
            height = 100 * by_outcome[outcome] / dashboard.peak
            y -= height
            if by_outcome[outcome]:
                parts.append((outcome, round(y, 2), round(height, 2), by_outcome[outcome]))
        total = sum(by_outcome.values())
        dashboard.bars.append(Bar(hour, round(index * width + width * 0.1, 2), parts, total))
        decided = total - by_outcome["unknown"] - by_outcome["live"]
        if decided:
            rate = by_outcome["approved"] / decided
            points.append(f"{index * width + width / 2:.2f},{100 - 100 * rate:.2f}")
    dashboard.rate_points = " ".join(points)


def dashboard() -> Dashboard:
    """Everything the page shows, in six queries (seven on SQLite)."""
    now = timezone.now()
    since = {"hour": now - timedelta(hours=1), "day": now - timedelta(days=1)}
    in_flight = [
        InFlight(flow, agent or "", count)
        for flow, agent, count in Payment.objects.filter(state__in=Payment.LIVE_STATES)
        .values_list("flow__name", "agent__user__username")
        .annotate(count=Count("pk"))
        .order_by("-count", "flow__name", "agent__user__username")
    ]
    row = _window_aggregates(since)
    if connection.vendor != "postgresql":
        _percentiles_elsewhere(since, row)
    windows = [
        Window(
            name,
            {outcome: row[f"{name}_{outcome}"] for outcome in OUTCOMES},
            row[f"{name}_median"],
            row[f"{name}_p95"],
        )
        for name in since
    ]
    queues = {
        **work_queue_counts(),
        "webhooks": WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.RECEIVED, received_at__gte=since["day"]
        ).count(),
        "poll_due": Payment.objects.filter(state=State.IN_PROGRESS, next_poll_at__lte=now).count(),
    }
    board = Dashboard(
        now,
        in_flight[:IN_FLIGHT_ROWS],
        sum(row.count for row in in_flight),
        len(in_flight),
        windows,
        queues,
    )
    hourly = (
        Payment.objects.filter(created_at__gte=now - timedelta(hours=CHART_HOURS))
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    _chart(board, hourly)
    return board
