"""The desk's personas: an agent signed in, and another agent."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agentdesk.staff.models import Agent
from payments.models import Order, PaymentFlow
from tests import builders


@pytest.fixture
def agent(agent_user: User) -> Agent:
    return agent_user.agent


@pytest.fixture
def agent_client(agent_user: User) -> Client:
    return builders.signed_in(agent_user)


@pytest.fixture
def other_agent_client(other_agent_user: User) -> Client:
    return builders.signed_in(other_agent_user)


HTMX = {"HTTP_HX_REQUEST": "true"}
WORKSPACE = {**HTMX, "HTTP_HX_TARGET": "workspace"}


@pytest.fixture
def flow(db: None) -> PaymentFlow:
    """The default flow, on the built-in sandbox account."""
    return builders.flow()


@pytest.fixture
def unreachable_flow(db: None) -> PaymentFlow:
    """A flow whose VCC account is no longer configured: every start fails, with no HTTP."""
    return builders.flow(name="Retired account", account="retired", is_default=False)


@pytest.fixture
def order(db: None) -> Order:
    return builders.order(reference="DEMO-42")
