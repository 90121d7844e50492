"""Each payment's state and owner in the cache, so that the desk's status poll can say
"unchanged" without the database (agentdesk/desk/quickpoll.py).

One key per payment, `payments:state:<id>`, holding "<agent id>:<state>". Written by the state
machine itself when a change commits (`published`), and filled in by the slow status poll when
missing (`remember`, an add that never overwrites). A change first deletes the key inside its
transaction (`forget`), so that if writing the new value fails, the poll finds nothing and asks
the database; every value also expires after TIMEOUT, which bounds what a lost write can cost.

The cache being down is never an error here: the poll then takes the database's way.
"""

import logging

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger("payments.state_cache")

# How long a state is trusted without a change being written over it.
TIMEOUT = 30


def key(payment_id: int) -> str:
    return f"payments:state:{payment_id}"


def value(agent_id: int, state: str) -> str:
    return f"{agent_id}:{state}"


def forget(payment_id: int) -> None:
    """Called inside the transaction that changes the payment's state."""
    try:
        cache.delete(key(payment_id))
    except Exception as error:  # the cache client's errors are its own
        log.warning("payment=%s state not forgotten in the cache: %s", payment_id, error)


def published(payment_id: int, agent_id: int, state: str) -> None:
    """Called inside the transaction that changes the payment's state: written once it commits."""

    def write() -> None:
        try:
            cache.set(key(payment_id), value(agent_id, state), timeout=TIMEOUT)
        except Exception as error:
            log.warning("payment=%s state not written to the cache: %s", payment_id, error)

    transaction.on_commit(write)


def remember(payment_id: int, agent_id: int, state: str) -> None:
    """The state the database just gave, unless a change has written one meanwhile."""
    try:
        cache.add(key(payment_id), value(agent_id, state), timeout=TIMEOUT)
    except Exception as error:
        # Not a warning: the desks' polls would repeat it every second (/readyz reports it).
        log.debug("payment=%s state not remembered in the cache: %s", payment_id, error)
