"""The reads of customers: finding a customer by what a person would type — whole values for
the supervisors' admin (indexed lookups at any size), and the desk's search as the agent types
(prefixes of names, parts of emails and phone numbers, with the caller's address)."""

import re

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from customers.models import Customer
from customers.phones import e164

# Words a supervisor may put before a name ("Mrs Patel"); they are not part of it.
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"})
PHONE = re.compile(r"\+?[0-9 ()-]{6,20}")
# The desk searches from this many characters on.
MIN_QUERY = 2
# The supervisors' admin matches the start of a name, email or reference from this many
# characters on (fewer would match too much to be useful); shorter terms match whole values.
PREFIX_MIN = 3


def customer_search(term: str) -> Q:
    """Customers whose first or last name, full name or email starts with `term`, or whose
    phone or CRM id is `term` (case-insensitive); each an indexed lookup on the one table (the
    trigram indexes of migration 0004 serve the prefixes)."""
    words = [w for w in term.split() if w.lower().strip(".") not in TITLES] or term.split()
    name = " ".join(words)
    starts = "istartswith" if len(name) >= PREFIX_MIN else "iexact"
    match = (
        Q(**{f"first_name__{starts}": name})
        | Q(**{f"last_name__{starts}": name})
        | Q(**{f"email__{'istartswith' if len(term) >= PREFIX_MIN else 'iexact'}": term})
        | Q(crm_id=term)
    )
    for split in range(1, len(words)):
        # "Priya Pat": the first name whole, the last name's start.
        match |= Q(
            first_name__iexact=" ".join(words[:split]),
            **{f"last_name__{starts}": " ".join(words[split:])},
        )
    if PHONE.fullmatch(term):
        match |= Q(phone__in={term, re.sub(r"[ ()-]", "", term)})
    return match


def matching_customers(term: str) -> QuerySet[Customer]:
    return Customer.objects.filter(customer_search(term))


def search_customers(query: str, *, limit: int) -> list[Customer]:
    """The desk's search as the agent types: our own customers whose names start with the
    words typed, or whose email, phone, order reference or CRM id matches, in one query, each
    with its billing address and number of open orders."""
    text = " ".join(query.split())
    if len(text) < MIN_QUERY:
        return []
    match = Q(email__icontains=text) | Q(crm_id__iexact=text)
    digits = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?\d{4,}", digits):
        match |= Q(phone__contains=digits.lstrip("+"))
        # A whole number is matched as stored (E.164), whichever way it was typed.
        number = e164(text)
        if number:
            match |= Q(phone=number)
    by_name = Q()
    for word in text.split():
        by_name &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    match |= by_name
    # Two index-friendly halves in one query: the tests on the customer's own row, which
    # PostgreSQL ORs from its indexes (migration 0004), and the order reference, a join. One OR
    # across both tables would make it scan every customer.
    by_order = Customer.objects.filter(orders__reference__iexact=text).order_by().values("pk")
    matching = Customer.objects.filter(match).order_by().values("pk").union(by_order)
    # Counted apart from the match: a match through an order reference filters the join.
    open_orders = (
        Customer.objects.filter(pk=OuterRef("pk"))
        .annotate(count=Count("orders", filter=Q(orders__status="open")))
        .values("count")
    )
    found: QuerySet[Customer] = (
        Customer.objects.filter(pk__in=matching)
        .select_related("billing_address")
        .annotate(open_orders=Coalesce(Subquery(open_orders), 0))
        .order_by("last_name", "first_name", "pk")
    )
    return list(found[:limit])
