"""The app's settings without the status poll's quick answer (agentdesk/desk/quickpoll.py), for
tests/bench/poll.py to measure what every unchanged poll cost before it."""

from agentdesk.settings import *  # noqa: F403
from agentdesk.settings import MIDDLEWARE

MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("agentdesk.desk.quickpoll.")]
