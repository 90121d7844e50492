"""customers.selectors.search_customers, the desk's search as the agent types: every way a
name can match (each word starts the first or the last name), the first page of a prefix
shared by many in name order, and nothing that does not match."""

import pytest

from customers.selectors import search_customers
from tests import builders

pytestmark = pytest.mark.django_db


def names(query: str, *, limit: int = 20) -> list[str]:
    return [c.full_name for c in search_customers(query, limit=limit)]


@pytest.fixture
def people() -> None:
    for number, (first, last) in enumerate(
        [
            ("Ann", "Lee"),
            ("Lee", "Ann"),
            ("Annabel", "Leeds"),
            ("Bob", "Lee"),
            ("Ann", "Zimmer"),
            ("Zed", "Annan"),
            ("Joanna", "Smith"),
        ]
    ):
        builders.customer(first_name=first, last_name=last, email=f"c{number}@example.com")


@pytest.mark.usefixtures("people")
def test_one_word_matches_first_or_last_name_prefixes_in_name_order() -> None:
    assert names("ann") == ["Lee Ann", "Zed Annan", "Ann Lee", "Annabel Leeds", "Ann Zimmer"]
    # "Joanna" holds "ann" but does not start with it.
    assert "Joanna Smith" not in names("ann")


@pytest.mark.usefixtures("people")
def test_each_word_starts_either_name_whichever_order_they_are_typed() -> None:
    assert names("ann lee") == ["Lee Ann", "Ann Lee", "Annabel Leeds"]
    assert names("Lee  ANN") == names("ann lee")
    assert names("bob ann") == []


@pytest.mark.usefixtures("people")
def test_a_page_is_the_first_matches_in_name_order_not_any_matches() -> None:
    assert names("ann", limit=2) == ["Lee Ann", "Zed Annan"]
    assert names("lee", limit=3) == ["Lee Ann", "Ann Lee", "Bob Lee"]


def test_names_outside_ascii_match_in_any_case() -> None:
    builders.customer(first_name="Jürgen", last_name="Müller")
    builders.customer(first_name="Hans", last_name="Straße")
    assert names("müll") == ["Jürgen Müller"]
    assert names("MÜLLER jür") == ["Jürgen Müller"]
    assert names("straß") == ["Hans Straße"]
