"""The supervisors' payment list (/admin/payments/payment/): its columns, each filter and
search field, the totals per currency, the capped count and a query count that does not grow
with the number of payments."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from payments.admin.payments import PaymentAdmin
from tests import builders

pytestmark = pytest.mark.django_db

URL = "/admin/payments/payment/"


def listed(supervisor_client: Client, query: str = "") -> list[str]:
    """The order references of the rows listed, top to bottom."""
    response = supervisor_client.get(URL + query)
    assert response.status_code == 200, response.headers.get("Location")
    return [payment.order.reference for payment in response.context["cl"].result_list]


def test_each_row_shows_what_a_supervisor_asks_about(supervisor_client: Client) -> None:
    staging = builders.flow(name="Cards", environment="staging")
    customer = builders.customer(first_name="Priya", last_name="Patel")
    builders.payment(
        order=builders.order(
            reference="PAY-ROW1", customer=customer, amount=Decimal("5400"), currency="JPY"
        ),
        flow=staging,
        state="unknown",
        gateway_reference="GW-777",
        created_at=datetime(2026, 3, 4, 9, 30, tzinfo=UTC),
        finished_at=datetime(2026, 3, 4, 9, 41, tzinfo=UTC),
    )
    page = supervisor_client.get(URL).content.decode()
    for text in [
        "PAY-ROW1",
        "Priya Patel",
        "5400 JPY",
        '<span class="state state-unknown">Outcome unknown</span>',
        'Cards <span class="staging">STAGING</span>',
        "Agent1 (1001)",
        "4 Mar 2026, 09:30 UTC",
    ]:
        assert text in page, text


def test_times_show_the_configured_zone(supervisor_client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "Europe/London"
    builders.payment(created_at=datetime(2026, 7, 4, 9, 30, tzinfo=UTC))
    page = supervisor_client.get(URL).content.decode()
    assert "4 Jul 2026, 10:30 BST" in page


def test_one_row_per_attempt_newest_first(supervisor_client: Client) -> None:
    order = builders.order(reference="PAY-TWICE")
    builders.payment(order=order, state="declined", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    builders.payment(order=order, state="approved", created_at=datetime(2026, 1, 2, tzinfo=UTC))
    builders.payment(
        order=builders.order(reference="PAY-OLD"),
        state="approved",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    response = supervisor_client.get(URL)
    states = [p.state for p in response.context["cl"].result_list]
    assert listed(supervisor_client) == ["PAY-TWICE", "PAY-TWICE", "PAY-OLD"]
    assert states == ["approved", "declined", "approved"]


def test_filter_by_state(supervisor_client: Client) -> None:
    builders.payment(order=builders.order(reference="PAY-A"), state="approved")
    builders.payment(order=builders.order(reference="PAY-D"), state="declined")
    assert listed(supervisor_client, "?state__exact=declined") == ["PAY-D"]


def test_filter_by_flow_and_by_environment(supervisor_client: Client) -> None:
    staging = builders.flow(name="Staging cards", environment="staging")
    production = builders.flow(name="Live cards", environment="production", is_default=False)
    builders.payment(order=builders.order(reference="PAY-S"), flow=staging)
    builders.payment(order=builders.order(reference="PAY-P"), flow=production)
    assert listed(supervisor_client, f"?flow__id__exact={production.pk}") == ["PAY-P"]
    assert listed(supervisor_client, "?environment=staging") == ["PAY-S"]
    assert listed(supervisor_client, "?environment=production") == ["PAY-P"]


def test_a_payment_keeps_the_environment_and_currency_it_was_taken_in(
    supervisor_client: Client,
) -> None:
    """A flow moved from staging to production later: its earlier payments were staging ones
    and stay listed and marked so; the currency filter reads the payment's own copy."""
    cards = builders.flow(name="Cards", environment="staging")
    builders.payment(order=builders.order(reference="PAY-TEST", currency="EUR"), flow=cards)
    cards.environment = "production"
    cards.save()
    builders.payment(order=builders.order(reference="PAY-LIVE", currency="EUR"), flow=cards)
    assert listed(supervisor_client, "?environment=staging") == ["PAY-TEST"]
    assert listed(supervisor_client, "?environment=production") == ["PAY-LIVE"]
    assert listed(supervisor_client, "?currency=EUR&environment=staging") == ["PAY-TEST"]
    rows = supervisor_client.get(URL).content.decode().split("PAY-")
    marked = {row[:4]: "STAGING" in row for row in rows[1:]}
    assert marked == {"LIVE": False, "TEST": True}


def test_filter_by_agent(
    supervisor_client: Client, agent_user: User, other_agent_user: User
) -> None:
    builders.payment(order=builders.order(reference="PAY-1"), agent=agent_user.agent)
    builders.payment(order=builders.order(reference="PAY-2"), agent=other_agent_user.agent)
    page = supervisor_client.get(URL).content.decode()
    assert "Agent2 (1002)" in page  # offered in the sidebar
    assert listed(supervisor_client, f"?agent={other_agent_user.agent.pk}") == ["PAY-2"]


def test_filter_by_currency_offers_the_currencies_in_use(supervisor_client: Client) -> None:
    builders.payment(order=builders.order(reference="PAY-G", currency="GBP"))
    builders.payment(order=builders.order(reference="PAY-K", amount=Decimal("1.5"), currency="KWD"))
    response = supervisor_client.get(URL)
    currency_filter = next(f for f in response.context["cl"].filter_specs if f.title == "currency")
    assert [code for code, _ in currency_filter.lookup_choices] == ["GBP", "KWD"]
    assert listed(supervisor_client, "?currency=KWD") == ["PAY-K"]


def test_filter_by_date_presets_range_and_hierarchy(supervisor_client: Client) -> None:
    builders.payment(
        order=builders.order(reference="PAY-MAR"),
        created_at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
    )
    builders.payment(
        order=builders.order(reference="PAY-APR"), created_at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    )
    builders.payment(
        order=builders.order(reference="PAY-2025"), created_at=datetime(2025, 6, 1, tzinfo=UTC)
    )
    builders.payment(order=builders.order(reference="PAY-NOW"))
    assert listed(supervisor_client, "?created_at__from=2026-03-31&created_at__to=2026-03-31") == [
        "PAY-MAR"
    ]
    assert listed(supervisor_client, "?created_at__from=2026-03-01") == [
        "PAY-NOW",
        "PAY-APR",
        "PAY-MAR",
    ]
    assert listed(supervisor_client, "?created_at__to=2026-01-01") == ["PAY-2025"]
    assert listed(supervisor_client, "?created_at__year=2026&created_at__month=4") == ["PAY-APR"]
    assert listed(supervisor_client, "?created_at__year=2025") == ["PAY-2025"]
    today = datetime.now(UTC).date()
    today_preset = f"?created_at__gte={today}+00:00:00%2B00:00"
    assert listed(supervisor_client, today_preset) == ["PAY-NOW"]


def test_date_hierarchy_offers_every_year_between_the_first_and_last(
    supervisor_client: Client,
) -> None:
    builders.payment(created_at=datetime(2024, 5, 1, tzinfo=UTC))
    builders.payment(created_at=datetime(2026, 2, 1, tzinfo=UTC))
    page = supervisor_client.get(URL).content.decode()
    assert all(f"?created_at__year={year}" in page for year in (2024, 2025, 2026))
    page = supervisor_client.get(URL + "?created_at__year=2026").content.decode()
    assert "February 2026" in page and "March 2026" not in page


def test_work_queue_filters(supervisor_client: Client) -> None:
    builders.payment(order=builders.order(reference="PAY-UNK"), state="unknown")
    builders.payment(order=builders.order(reference="PAY-FLAG"), state="declined", flagged=True)
    builders.payment(order=builders.order(reference="PAY-OK"), state="approved")
    builders.payment(
        order=builders.order(reference="PAY-DONE"),
        state="abandoned",
        resolved_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert listed(supervisor_client, "?queue=unknown") == ["PAY-UNK"]
    assert listed(supervisor_client, "?queue=flagged") == ["PAY-FLAG"]
    assert sorted(listed(supervisor_client, "?queue=waiting")) == ["PAY-FLAG", "PAY-UNK"]
    assert listed(supervisor_client, "?queue=resolved") == ["PAY-DONE"]
    page = supervisor_client.get(URL).content.decode()
    assert "1 of unknown outcome" in page and "1 flagged" in page


@pytest.mark.parametrize(
    "term",
    [
        "PAY-FIND1",  # order reference
        "pay-find1",  # in any case
        "Patel",  # last name
        "priya",  # first name
        "Mrs Patel",  # with a title
        "Priya Patel",  # full name
        "PRIYA@example.com",  # email
        "+441632960961",  # phone
        "+44 1632 960961",  # phone as spoken
        "0d5c8a9e-1f7b-4c11-9a43-7d1e2f3a4b5c",  # VCC session GUID
        "0D5C8A9E-1F7B-4C11-9A43-7D1E2F3A4B5C",
        "6543210987654321098765",  # gateway reference
    ],
)
def test_search_finds_the_payment_by(supervisor_client: Client, term: str) -> None:
    patel = builders.customer(
        first_name="Priya", last_name="Patel", email="priya@example.com", phone="+441632960961"
    )
    builders.payment(
        order=builders.order(reference="PAY-FIND1", customer=patel),
        session_guid="0d5c8a9e-1f7b-4c11-9a43-7d1e2f3a4b5c",
        gateway_reference="6543210987654321098765",
    )
    other = builders.customer(
        first_name="John", last_name="Smith", email="j@example.com", phone="+14155550123"
    )
    builders.payment(order=builders.order(reference="PAY-OTHER", customer=other))
    assert listed(supervisor_client, "?" + f"q={term}".replace("+", "%2B").replace(" ", "+")) == [
        "PAY-FIND1"
    ]


def test_search_finds_the_start_of_a_reference_or_a_name(supervisor_client: Client) -> None:
    patel = builders.customer(first_name="Priya", last_name="Patel", email="priya@example.com")
    jones = builders.customer(first_name="Alun", last_name="Jones", email="alun@example.com")
    builders.payment(order=builders.order(reference="DEMO-1001", customer=patel))
    builders.payment(
        order=builders.order(reference="DEMO-2002", customer=jones), gateway_reference="GW-98765"
    )
    assert listed(supervisor_client, "?q=demo-100") == ["DEMO-1001"]
    assert listed(supervisor_client, "?q=Pat") == ["DEMO-1001"]
    assert listed(supervisor_client, "?q=Priya+Pa") == ["DEMO-1001"]
    assert listed(supervisor_client, "?q=priya@ex") == ["DEMO-1001"]
    assert listed(supervisor_client, "?q=gw-987") == ["DEMO-2002"]
    assert sorted(listed(supervisor_client, "?q=DEMO")) == ["DEMO-1001", "DEMO-2002"]


def test_search_matches_the_start_only_and_short_terms_whole(supervisor_client: Client) -> None:
    builders.payment(order=builders.order(reference="PAY-FIND1"))
    assert listed(supervisor_client, "?q=FIND1") == []
    assert listed(supervisor_client, "?q=PA") == []


def test_search_combines_with_filters(supervisor_client: Client) -> None:
    order = builders.order(reference="PAY-MIX")
    builders.payment(order=order, state="declined")
    builders.payment(order=order, state="approved")
    assert len(listed(supervisor_client, "?q=PAY-MIX")) == 2
    assert listed(supervisor_client, "?q=PAY-MIX&state__exact=declined") == ["PAY-MIX"]


def test_totals_per_currency_of_the_filtered_list(supervisor_client: Client) -> None:
    for amount, currency, state in [
        ("10.00", "GBP", "approved"),
        ("2.50", "GBP", "approved"),
        ("7.00", "GBP", "declined"),
        ("1000", "JPY", "approved"),
        ("1.250", "KWD", "unknown"),
    ]:
        builders.payment(
            order=builders.order(amount=Decimal(amount), currency=currency), state=state
        )
    totals = {t.currency: t for t in supervisor_client.get(URL).context["totals"]}
    assert set(totals) == {"GBP", "JPY", "KWD"}
    gbp = totals["GBP"]
    assert (gbp.count, gbp.amount_text, gbp.approved_count, gbp.approved_amount_text) == (
        3,
        "19.50",
        2,
        "12.50",
    )
    assert (totals["JPY"].amount_text, totals["KWD"].approved_amount_text) == ("1000", "0.000")
    filtered = supervisor_client.get(URL + "?state__exact=approved")
    assert [(t.currency, t.amount_text) for t in filtered.context["totals"]] == [
        ("GBP", "12.50"),
        ("JPY", "1000"),
    ]
    page = filtered.content.decode()
    assert '<td class="approved-amount"><strong>12.50</strong></td>' in page


def test_totals_follow_the_search_and_the_flagged_queue(supervisor_client: Client) -> None:
    """The totals sum what the list shows: a search's matches (by the ids its count read),
    a work queue's rows (through its own index)."""
    novak = builders.customer(first_name="Olga", last_name="Novak")
    builders.payment(order=builders.order(customer=novak, amount=Decimal("4.00")), state="approved")
    builders.payment(
        order=builders.order(customer=novak, amount=Decimal("6.00"), currency="EUR"),
        state="declined",
        flagged=True,
    )
    builders.payment(order=builders.order(amount=Decimal("99.00")), state="approved", flagged=True)

    def totals(query: str) -> list[tuple[str, int, str, str]]:
        listed = supervisor_client.get(URL + query).context["totals"]
        return [(t.currency, t.count, t.amount_text, t.approved_amount_text) for t in listed]

    assert totals("?q=Novak") == [("EUR", 1, "6.00", "0.00"), ("GBP", 1, "4.00", "4.00")]
    assert totals("?queue=flagged") == [("EUR", 1, "6.00", "0.00"), ("GBP", 1, "99.00", "99.00")]
    assert totals("?queue=flagged&q=Novak") == [("EUR", 1, "6.00", "0.00")]


def test_totals_count_a_declined_retry_as_attempted_not_taken(supervisor_client: Client) -> None:
    order = builders.order(amount=Decimal("40.00"), currency="GBP")
    builders.payment(order=order, state="declined")
    builders.payment(order=order, state="approved")
    page = supervisor_client.get(URL).content.decode()
    assert "Approved amount: the money taken." in page
    assert '<td class="approved-amount"><strong>40.00</strong></td>' in page
    assert '<td class="attempted-amount">80.00</td>' in page


def test_beyond_the_count_limit_the_list_says_more_than_and_asks_to_narrow(
    supervisor_client: Client, settings: Any
) -> None:
    settings.ADMIN_COUNT_LIMIT = 3
    for _ in range(5):
        builders.payment(state="declined")
    response = supervisor_client.get(URL)
    page = response.content.decode()
    assert "more than 3 payments" in page
    assert response.context["totals"] is None
    assert "narrow the list" in page
    assert "5 payments" not in page
    narrow = supervisor_client.get(URL + "?state__exact=approved")
    assert narrow.context["totals"] == []


def test_every_page_lists_its_own_rows_in_order(
    supervisor_client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page by page, newest first, each payment once, with the filters applied, down to the
    last page (each page's rows are read by their ids: CappedPaginator.page)."""
    settings.ADMIN_COUNT_LIMIT = 20
    made = [
        builders.payment(order=builders.order(reference=f"PAY-{i:02d}"), state="declined")
        for i in range(1, 10)
    ]
    builders.payment(order=builders.order(reference="PAY-APPROVED"), state="approved")
    newest_first = [payment.order.reference for payment in reversed(made)]
    monkeypatch.setattr(PaymentAdmin, "list_per_page", 3)
    pages = [listed(supervisor_client, f"?state__exact=declined&p={n}") for n in (1, 2, 3)]
    past = supervisor_client.get(URL + "?state__exact=declined&p=4")
    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:9]]
    assert past.status_code == 302  # Django's answer to a page that does not exist


def test_past_the_count_limit_pages_are_read_in_order_too(
    supervisor_client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More rows than the limit: the ids are not all known, each page is read along the
    list's order (the first two pages, then the limit's last row)."""
    settings.ADMIN_COUNT_LIMIT = 5
    made = [
        builders.payment(
            order=builders.order(reference=f"PAY-{i:02d}"),
            state="declined",
            created_at=datetime(2026, 1, 1 + i, tzinfo=UTC),
        )
        for i in range(1, 10)
    ]
    newest_first = [payment.order.reference for payment in reversed(made)]
    monkeypatch.setattr(PaymentAdmin, "list_per_page", 2)
    pages = [listed(supervisor_client, f"?state__exact=declined&p={n}") for n in (1, 2, 3)]
    response = supervisor_client.get(URL + "?state__exact=declined")
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:6]]
    assert "more than 5 payments" in response.content.decode()


def queries(supervisor_client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert supervisor_client.get(url).status_code == 200
    return len(context)


@pytest.mark.parametrize(
    "query",
    ["", "?state__exact=approved", "?q=Patel", "?currency=GBP&environment=production"],
)
def test_query_count_does_not_grow_with_the_number_of_payments(
    supervisor_client: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    agent_user: User,
    other_agent_user: User,
    query: str,
) -> None:
    flows = [
        builders.flow(),
        builders.flow(name="Live", environment="production", is_default=False),
    ]
    agents = [agent_user.agent, other_agent_user.agent]

    def add(count: int) -> None:
        for i in range(count):
            builders.payment(flow=flows[i % 2], agent=agents[i % 2], flagged=i % 5 == 0)

    add(5)
    few = queries(supervisor_client, URL + query)
    add(45)
    with django_assert_max_num_queries(few):
        assert supervisor_client.get(URL + query).status_code == 200
    # Session and permissions, 3 filters, count, rows, totals, queue, 2 dates, the session
    # saved; a search adds one indexed probe per kind of match (5).
    assert few <= 21
