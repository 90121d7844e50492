"""manage.py demo_data: loads users for each role, customers with orders and two flows, and
running it again changes nothing."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from agentdesk.staff.models import Agent
from customers.models import BillingAddress, Customer
from payments.models import Order, PaymentFlow

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Agent, Customer, BillingAddress, Order, PaymentFlow)
    }


def test_demo_data_is_complete_and_idempotent() -> None:
    call_command("demo_data", stdout=StringIO())
    first = counts()
    call_command("demo_data", stdout=StringIO())
    assert counts() == first
    assert first["Agent"] == 2 and first["Customer"] >= 3 and first["Order"] >= 3
    assert set(Agent.objects.values_list("vcc_agent_id", flat=True)) == {"1001", "1002"}
    flows = {flow.environment: flow for flow in PaymentFlow.objects.all()}
    assert set(flows) == {"staging", "production"}
    assert flows["staging"].is_default and flows["staging"].account == "builtin"
    assert all(c.billing_address.country for c in Customer.objects.all())
    assert User.objects.get(username="supervisor").groups.get().name == "Supervisors"
    assert User.objects.get(username="agent1").check_password("agentdesk-demo")


def test_demo_data_is_valid_by_the_models_own_rules() -> None:
    call_command("demo_data", stdout=StringIO())
    for model in (Customer, BillingAddress, Order, PaymentFlow):
        for instance in model.objects.all():
            instance.full_clean()


def test_demo_data_says_how_to_sign_in(settings) -> None:
    out = StringIO()
    call_command("demo_data", stdout=out)
    printed = out.getvalue()
    assert "/login/ as:" in printed and "supervisor" in printed and "agentdesk-demo" in printed
    assert "The password alone signs in" in printed
    settings.MFA_REQUIRED_FOR_STAFF = True
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert "QR code" in out.getvalue() and "recovery codes" in out.getvalue()
