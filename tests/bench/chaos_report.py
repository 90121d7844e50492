"""The chaos benchmark's verdict (tests/bench/chaos.py runs the parts): every payment compared
with what the sandbox recorded for its session, the time results took to flow again after each
fault, and the status fragment's p95 under the desks' load."""

from datetime import datetime
from typing import Any

from tests.bench.results_report import percentile

# The state each outcome the sandbox was told must leave our payment in (payments/states.py);
# "never" is a caller who never keys: the session stays open at VCC and so must our payment.
EXPECTED = {
    "approved": "approved",
    "declined": "declined",
    "hangup": "abandoned",
    "review": "unknown",
    "never": "in_progress",
}
# An unknown outcome these explain is right: VCC holds the payment for review.
EXPLAINED_UNKNOWN = {"review"}


def compare(ids: list[int], told: dict[str, str]) -> dict[str, Any]:
    """Each payment against the sandbox's own record of its session (`told`: the outcome the
    bench gave each session GUID, lower case)."""
    from django.db.models import Count

    from payments.models import Order, Payment, PaymentEvent
    from payments.vcc.sandbox.models import Session

    finished_at_vcc = {
        str(guid).lower(): (state, purged is not None)
        for guid, state, purged in Session.objects.values_list("guid", "state", "purged_at")
    }
    applied = dict(
        PaymentEvent.objects.filter(
            payment_id__in=ids,
            kind=PaymentEvent.Kind.STATE_CHANGED,
            from_state=Payment.State.IN_PROGRESS,
        )
        .values("payment_id")
        .annotate(n=Count("id"))
        .values_list("payment_id", "n")
    )
    lost, twice, wrong_state, wrong_order, live = 0, 0, [], 0, 0
    unknowns: list[dict[str, Any]] = []
    for payment in Payment.objects.filter(pk__in=ids).select_related("order"):
        guid = str(payment.session_guid).lower()
        outcome = told.get(guid, "never")
        vcc_state, purged = finished_at_vcc.get(guid, ("missing", False))
        twice += applied.get(payment.pk, 0) > 1
        wrong_order += (payment.order.status == Order.Status.PAID) != (
            payment.state == Payment.State.APPROVED
        )
        if payment.state == Payment.State.IN_PROGRESS and outcome != "never":
            live += 1
        if payment.state == Payment.State.UNKNOWN:
            explained = outcome in EXPLAINED_UNKNOWN or purged
            lost += not explained
            unknowns.append(
                {
                    "payment": payment.pk,
                    "told": outcome,
                    "vcc_state": vcc_state,
                    "purged_at_vcc": purged,
                    "cause": payment.message[:200],
                    "explained": explained,
                }
            )
        if payment.state != EXPECTED[outcome]:
            wrong_state.append(f"#{payment.pk}: told {outcome}, is {payment.state}")
    return {
        "payments": len(ids),
        "results_lost": lost,
        "applied_twice": twice,
        "wrong_order_state": wrong_order,
        "wrong_payment_state": wrong_state,
        "left_live": live,
        "unknown_outcomes": unknowns,
    }


def recovery_seconds(ids: list[int], faults: list[tuple[str, datetime]]) -> dict[str, Any]:
    """For each fault, how long after its end (the part back, the burst over) results flowed
    again: the first result our app applied after the end, counted from the end or, when VCC
    finished that session later than the end, from the moment VCC finished it (a result VCC
    had not yet given cannot be late). The plain wait for the first result after the end,
    which also holds the gap until the sandbox's next completion, is kept beside it as
    `first_result`. None: no result came after the fault."""
    from payments.models import Payment
    from payments.vcc.sandbox.models import Session

    vcc_finished = {
        str(guid).lower(): at
        for guid, at in Session.objects.filter(finished_on__isnull=False).values_list(
            "guid", "finished_on"
        )
    }
    done = sorted(
        (at, vcc_finished.get(str(guid).lower()))
        for at, guid in Payment.objects.filter(pk__in=ids).values_list(
            "finished_at", "session_guid"
        )
        if at is not None
    )
    recovery: dict[str, Any] = {}
    for name, ended in faults:
        after = next(((at, vcc) for at, vcc in done if at >= ended), None)
        if after is None:
            recovery[name] = {"seconds": None, "first_result": None}
            continue
        at, vcc = after
        start = max(ended, vcc) if vcc is not None else ended
        recovery[name] = {
            "seconds": round((at - start).total_seconds(), 1),
            "first_result": round((at - ended).total_seconds(), 1),
        }
    return recovery


def fragment_figures(
    fragment_ms: list[float],
    poll_errors: dict[str, int],
    fragment_at: list[float],
    start_phase_end: float,
) -> dict[str, Any]:
    """The status fragment's p50/p95 over every poll, and over the polls after the start phase
    (the 1,000 starts done, results coming in through the faults)."""
    later = [ms for ms, at in zip(fragment_ms, fragment_at, strict=True) if at >= start_phase_end]
    return {
        "polls": len(fragment_ms),
        "p50_ms": round(percentile(fragment_ms, 0.5), 1) if fragment_ms else None,
        "p95_ms": round(percentile(fragment_ms, 0.95), 1) if fragment_ms else None,
        "polls_after_start_phase": len(later),
        "p50_ms_after_start_phase": round(percentile(later, 0.5), 1) if later else None,
        "p95_ms_after_start_phase": round(percentile(later, 0.95), 1) if later else None,
        "errors": poll_errors,
    }


def fragment_by_window(
    fragment_ms: list[float], fragment_at: list[float], windows: list[tuple[str, float, float]]
) -> dict[str, dict[str, Any]]:
    """The fragment's p50/p95 over the polls made during each fault and the gap after it."""
    out: dict[str, dict[str, Any]] = {}
    for name, began, ended in windows:
        during = [
            ms for ms, at in zip(fragment_ms, fragment_at, strict=True) if began <= at < ended
        ]
        out[name] = {
            "polls": len(during),
            "p50_ms": round(percentile(during, 0.5), 1) if during else None,
            "p95_ms": round(percentile(during, 0.95), 1) if during else None,
        }
    return out


def cpu_by_phase(
    before: dict[str, float], start_end: dict[str, float], end: dict[str, float]
) -> dict[str, dict[str, float]]:
    """CPU seconds each part used in the start phase and after it (CpuByPart's totals)."""

    def used(since: dict[str, float], until: dict[str, float]) -> dict[str, float]:
        return {part: round(until[part] - since.get(part, 0.0), 1) for part in until}

    return {"start_phase": used(before, start_end), "after_start_phase": used(start_end, end)}


def print_verdict(figures: dict[str, Any]) -> None:
    verdict = figures.get("verdict", {})
    print("\nchaos: the verdict (goal: 0 / 0 / 0 / 0, recovery < 30 s, fragment p95 <= 50 ms)")
    for key in ("payments", "results_lost", "applied_twice", "wrong_order_state", "left_live"):
        print(f"  {key.replace('_', ' ')}: {verdict.get(key)}")
    for line in verdict.get("wrong_payment_state", [])[:20]:
        print(f"  wrong payment state: {line}")
    for unknown in verdict.get("unknown_outcomes", []):
        print(
            f"  unknown #{unknown['payment']} (told {unknown['told']}, VCC {unknown['vcc_state']}"
            f"{', purged' if unknown['purged_at_vcc'] else ''}): {unknown['cause']}"
            f"{'' if unknown['explained'] else '  <- NOT EXPLAINED'}"
        )
    for name, recovery in figures.get("recovery_seconds", {}).items():
        seconds = recovery["seconds"]
        print(
            f"  recovery after {name}: {'never' if seconds is None else f'{seconds} s'}"
            f" (first result {recovery['first_result']} s after the end)"
        )
    fragment = figures.get("status_fragment", {})
    print(
        f"  status fragment: {fragment.get('polls')} polls, p50 {fragment.get('p50_ms')} ms, "
        f"p95 {fragment.get('p95_ms')} ms, errors {fragment.get('errors')}; after the start "
        f"phase: {fragment.get('polls_after_start_phase')} polls, p50 "
        f"{fragment.get('p50_ms_after_start_phase')} ms, p95 "
        f"{fragment.get('p95_ms_after_start_phase')} ms"
    )
    for name, window in figures.get("status_fragment_by_fault", {}).items():
        print(
            f"  status fragment during {name} and the gap after: {window['polls']} polls, "
            f"p50 {window['p50_ms']} ms, p95 {window['p95_ms']} ms"
        )
    for phase, parts in figures.get("cpu_seconds", {}).items():
        shares = ", ".join(f"{part} {seconds}" for part, seconds in parts.items())
        print(f"  CPU seconds, {phase.replace('_', ' ')}: {shares}")
    print(
        f"  started in the start phase: {figures.get('started_in_start_phase')} of "
        f"{figures.get('payments')}"
    )
    print(
        f"  start failures: {figures.get('start_failures')}; not completed at VCC: "
        f"{figures.get('not_completed')}; load average {figures.get('load_average_1min_before')}"
        f" -> {figures.get('load_average_1min_after')}; {figures.get('seconds')} s in all"
    )
