"""/desk/call?ani=…&call=… (the screen pop): signed-in agents only; the caller found by their
number (however the contact centre writes it) is opened, several are listed, none opens manual
entry with the number filled in, a withheld or unreadable number says so; the interaction id
goes on the payments taken for that caller, and VCC's callGuid on each payment it reads."""

import pytest
from django.test import Client

from agentdesk.desk import calls
from payments import poller
from payments.models import Payment, PaymentFlow
from tests import builders
from tests.desk.conftest import WORKSPACE
from tests.sandbox_fixtures import Sandbox

pytestmark = pytest.mark.django_db


def test_signed_out_the_pop_asks_to_sign_in_and_comes_back() -> None:
    response = Client().get("/desk/call", {"ani": "+441632960961", "call": "INT-1"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=/desk/call%3Fani%3D")


def test_one_match_opens_the_caller(agent_client: Client) -> None:
    priya = builders.customer(phone="+441632960961")
    builders.customer(first_name="John", last_name="Smith", phone="+441632960962")
    # The contact centre sends the number as it has it: national format, spaces.
    response = agent_client.get("/desk/call", {"ani": "01632 960961", "call": "INT-1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/desk/callers/{priya.pk}/"
    html = agent_client.get(response.headers["Location"]).content.decode()
    assert "Priya Patel" in html


def test_several_matches_are_listed_to_choose_from(agent_client: Client) -> None:
    builders.customer(phone="+441632960961")
    builders.customer(
        first_name="Raj", last_name="Patel", email="raj@example.com", phone="+441632960961"
    )
    builders.customer(first_name="John", last_name="Smith", phone="+441632960962")
    html = agent_client.get("/desk/call", {"ani": "+44 1632 960961"}).content.decode()
    assert "2 callers have the number +441632960961: choose one on the left." in html
    assert "Priya Patel" in html and "Raj Patel" in html and "John Smith" not in html


def test_the_caller_chosen_among_several_takes_the_call(agent_client: Client) -> None:
    builders.customer(phone="+441632960961")
    raj = builders.customer(first_name="Raj", email="raj@example.com", phone="+441632960961")
    agent_client.get("/desk/call", {"ani": "+441632960961", "call": "INT-5"})
    assert calls.current(agent_client.session) == calls.Call("INT-5", "+441632960961", None)
    agent_client.post("/desk/callers/open/", {"key": f"local:{raj.pk}"}, **WORKSPACE)
    agent_client.get(f"/desk/callers/{raj.pk}/", **WORKSPACE)
    assert calls.interaction_for(agent_client.session, raj.pk) == "INT-5"
    # The next pop replaces the call.
    agent_client.get("/desk/call", {"ani": "+441632960962", "call": "INT-6"})
    assert calls.interaction_for(agent_client.session, raj.pk) == ""


def test_no_match_opens_manual_entry_with_the_number(agent_client: Client) -> None:
    builders.customer(phone="+441632960962")
    response = agent_client.get("/desk/call", {"ani": "+441632960961", "call": "INT-1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "No caller has the number +441632960961: enter them by hand." in html
    assert 'name="phone" value="+441632960961"' in html


@pytest.mark.parametrize("ani", ["", "anonymous", "withheld", "12"])
def test_a_withheld_or_unreadable_number_says_so_and_offers_the_search(
    agent_client: Client, ani: str
) -> None:
    builders.customer()
    html = agent_client.get("/desk/call", {"ani": ani, "call": "INT-1"}).content.decode()
    assert "The caller&#x27;s number is withheld or cannot be read" in html
    assert "find them with the search on the left, or enter them by hand." in html
    assert 'id="q"' in html and "Priya Patel" not in html


def test_a_card_number_passed_as_the_call_or_the_number_is_neither_kept_nor_shown(
    agent_client: Client,
) -> None:
    priya = builders.customer(phone="+441632960961")
    response = agent_client.get("/desk/call", {"ani": "01632 960961", "call": "4111111111111111"})
    assert response.status_code == 302
    assert calls.interaction_for(agent_client.session, priya.pk) == ""
    html = agent_client.get("/desk/call", {"ani": "4111 1111 1111 1111"}).content.decode()
    assert "withheld or cannot be read" in html and "4111" not in html


def open_order_for(client: Client, customer_id: int) -> int:
    response = client.post(
        f"/desk/callers/{customer_id}/orders/", {"amount": "12.40", "currency": "GBP"}
    )
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_the_interaction_id_and_call_guid_land_on_the_payment(
    agent_client: Client, sandbox: Sandbox, supervisor_client: Client
) -> None:
    flow: PaymentFlow = builders.flow()
    priya = builders.customer(phone="+441632960961")
    agent_client.get("/desk/call", {"ani": "+441632960961", "call": "INT-7731"})
    agent_client.get(f"/desk/callers/{priya.pk}/")
    order_id = open_order_for(agent_client, priya.pk)
    agent_client.post(f"/desk/orders/{order_id}/start/", {"flow": flow.pk}, **WORKSPACE)
    payment = Payment.objects.get()
    assert payment.interaction_id == "INT-7731"
    sandbox.complete(payment.session_guid, "approved")
    poller.read_now(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.state == Payment.State.APPROVED
    call_guid = sandbox.api_session(payment.session_guid)["callGuid"]
    assert payment.call_guid == call_guid
    # A supervisor sees both on the payment, and finds it by either.
    html = supervisor_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()
    assert "INT-7731" in html and call_guid in html
    for term in ("INT-7731", call_guid):
        listing = supervisor_client.get("/admin/payments/payment/", {"q": term}).content.decode()
        assert f"/admin/payments/payment/{payment.pk}/change/" in listing


def test_a_payment_for_another_caller_carries_no_interaction_id(
    agent_client: Client, sandbox: Sandbox
) -> None:
    flow = builders.flow()
    priya = builders.customer(phone="+441632960961")
    john = builders.customer(first_name="John", last_name="Smith", phone="+441632960962")
    agent_client.get("/desk/call", {"ani": "+441632960961", "call": "INT-1"})
    agent_client.get(f"/desk/callers/{john.pk}/")  # another caller, later, without a pop
    order_id = open_order_for(agent_client, john.pk)
    agent_client.post(f"/desk/orders/{order_id}/start/", {"flow": flow.pk}, **WORKSPACE)
    assert Payment.objects.get().interaction_id == ""
    assert priya.phone != john.phone


def test_a_caller_entered_by_hand_after_a_pop_takes_its_interaction_id(
    agent_client: Client, sandbox: Sandbox
) -> None:
    flow = builders.flow()
    agent_client.get("/desk/call", {"ani": "+441632960961", "call": "INT-9"})
    response = agent_client.post(
        "/desk/callers/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": "+441632960961",
            "line1": "1 St James's Square",
            "city": "London",
            "postcode": "SW1Y 4JU",
            "country": "GB",
            "amount": "20.00",
            "currency": "GBP",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    agent_client.post(f"/desk/orders/{order_id}/start/", {"flow": flow.pk}, **WORKSPACE)
    assert Payment.objects.get().interaction_id == "INT-9"
