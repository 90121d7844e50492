"""The desk's personas (an agent at the desk) for the attacks replayed here."""

from tests.desk.conftest import agent, agent_client, other_agent_client  # noqa: F401
