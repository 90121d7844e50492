"""/admin/payments/payment/: link attempts in the supervisors' history, with their own filter,
the number masked in the list and whole on the payment's page."""

import pytest
from django.test import Client

from payments.models import Payment
from tests import builders

pytestmark = pytest.mark.django_db


def test_link_attempts_have_their_own_filter_and_a_masked_number(
    supervisor_client: Client,
) -> None:
    link = builders.payment(
        kind=Payment.Kind.LINK, link_phone="+447400123456", order=builders.order(reference="L-1")
    )
    builders.payment(order=builders.order(reference="P-1"))
    listing = supervisor_client.get("/admin/payments/payment/").content.decode()
    assert "Link to +4474••••••56" in listing and "+447400123456" not in listing
    assert "L-1" in listing and "P-1" in listing
    links = supervisor_client.get("/admin/payments/payment/", {"kind__exact": "link"})
    assert "L-1" in links.content.decode() and "P-1" not in links.content.decode()
    phones = supervisor_client.get("/admin/payments/payment/", {"kind__exact": "phone"})
    assert "P-1" in phones.content.decode() and "L-1" not in phones.content.decode()
    page = supervisor_client.get(f"/admin/payments/payment/{link.pk}/change/").content.decode()
    assert "+447400123456" in page and "Payment link (SMS)" in page
