"""A payment's states and the moves between them, declared once (docs/architecture.md).

Everything else is derived from the two tables below: which states are live, final, block a
new attempt on the order or offer the agent a new one (`Payment`'s properties and the
database constraint of one blocking attempt per order), and whether `services._transition`
may make a move for whoever asks.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db import models

from payments.vcc.gateway import Outcome


class State(models.TextChoices):
    STARTING = "starting", "Starting"
    IN_PROGRESS = "in_progress", "Waiting for the caller"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    ERROR = "error", "Gateway error"
    ABANDONED = "abandoned", "Abandoned"
    EXPIRED = "expired", "Expired"
    UNKNOWN = "unknown", "Outcome unknown"
    FAILED_TO_START = "failed_to_start", "Failed to start"


class Mover(StrEnum):
    """Who makes a move: the app on its own (what VCC said, or what it did not say in time),
    the agent who started the attempt, or a supervisor's recorded decision."""

    APP = "app"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Rule:
    """What a state means: still changing (`live`), settled for good unless a supervisor
    decides otherwise (`final`), whether the order may take another attempt meanwhile."""

    live: bool = False
    final: bool = False
    blocks_new_attempt: bool = False


RULES: dict[State, Rule] = {
    State.STARTING: Rule(live=True, blocks_new_attempt=True),
    State.IN_PROGRESS: Rule(live=True, blocks_new_attempt=True),
    State.APPROVED: Rule(final=True, blocks_new_attempt=True),
    State.DECLINED: Rule(final=True),
    State.ERROR: Rule(final=True),
    State.ABANDONED: Rule(final=True),
    State.EXPIRED: Rule(final=True),
    # Neither live nor final: only a supervisor's decision settles it, and until then the
    # order takes no other payment (the money may have been taken).
    State.UNKNOWN: Rule(blocks_new_attempt=True),
    State.FAILED_TO_START: Rule(final=True),
}


@dataclass(frozen=True)
class Move:
    source: State
    target: State
    by: Mover
    name: str


_RESULTS = (State.APPROVED, State.DECLINED, State.ERROR, State.ABANDONED, State.UNKNOWN)
MOVES: tuple[Move, ...] = (
    Move(State.STARTING, State.IN_PROGRESS, Mover.APP, "VCC opened the session"),
    Move(State.STARTING, State.FAILED_TO_START, Mover.APP, "VCC refused, or no answer recorded"),
    *(Move(State.IN_PROGRESS, to, Mover.APP, "the session's result") for to in _RESULTS),
    Move(State.IN_PROGRESS, State.EXPIRED, Mover.APP, "the provider page timed out"),
    # The agent moves on (the page was lost, the caller will call back): the order is free for
    # another attempt, and the session is still read to its end; a result that comes after is
    # a late result like any other (a different one is flagged for supervisors).
    Move(State.IN_PROGRESS, State.ABANDONED, Mover.AGENT, "agent: abandoned this attempt"),
    Move(State.UNKNOWN, State.APPROVED, Mover.SUPERVISOR, "supervisor: the money was taken"),
    Move(State.UNKNOWN, State.ABANDONED, Mover.SUPERVISOR, "supervisor: no money was taken"),
    Move(State.APPROVED, State.DECLINED, Mover.SUPERVISOR, "supervisor overturns an approval"),
    *(
        Move(lost, State.APPROVED, Mover.SUPERVISOR, "supervisor: the money was taken after all")
        for lost in (State.DECLINED, State.ERROR, State.ABANDONED, State.EXPIRED)
    ),
)


# What a finished session's outcome makes of a live payment. A review hold, or an answer we
# do not understand, may have taken the money: unknown, never failed.
RESULT_STATES: dict[Outcome, State] = {
    Outcome.APPROVED: State.APPROVED,
    Outcome.DECLINED: State.DECLINED,
    Outcome.GATEWAY_ERROR: State.ERROR,
    Outcome.CANCELLED: State.ABANDONED,
    Outcome.NO_PAYMENT: State.ABANDONED,
    Outcome.HELD_FOR_REVIEW: State.UNKNOWN,
    Outcome.NOT_UNDERSTOOD: State.UNKNOWN,
}


def result_state(outcome: Outcome, *, link: bool) -> State:
    """What a finished session's outcome makes of a live payment. A payment link's session
    that VCC finished with no gateway call at all is the link's end, unused (a link has no
    call to hang up): expired, and the order may be sent a new link."""
    if link and outcome == Outcome.NO_PAYMENT:
        return State.EXPIRED
    return RESULT_STATES[outcome]


# States whose session VCC is read for while it has a next read (`Payment.next_poll_at`): a
# live one, and one its agent abandoned while the session was still open.
READ_STATES = (State.IN_PROGRESS, State.ABANDONED)


def _states(test: str) -> tuple[State, ...]:
    return tuple(state for state in State if getattr(RULES[state], test))


LIVE_STATES = _states("live")
FINAL_STATES = _states("final")
BLOCKING_STATES = _states("blocks_new_attempt")
# A final attempt that leaves the order open: the agent may make a new one.
RETRYABLE_STATES = tuple(s for s in FINAL_STATES if s not in BLOCKING_STATES)


def move(source: str, target: str, by: Mover) -> Move | None:
    """The declared move from `source` to `target` that `by` may make, or None."""
    return next(
        (m for m in MOVES if (m.source, m.target, m.by) == (source, target, by)),
        None,
    )
