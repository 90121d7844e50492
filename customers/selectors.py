"""The reads of customers: finding a customer by what a person would type — the start of a
name or email, or a whole phone number or CRM id, for the supervisors' admin (indexed lookups
at any size), and the desk's search as the agent types
(prefixes of names, parts of emails and phone numbers, with the caller's address)."""

import re
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from customers.models import Customer
from customers.names import ByteUpper
from customers.phones import e164

# Words a supervisor may put before a name ("Mrs Patel"); they are not part of it.
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"})
PHONE = re.compile(r"\+?[0-9 ()-]{6,20}")
# The desk searches from this many characters on.
MIN_QUERY = 2
# Words of a name read from the search box; more are ignored (no name has more).
MAX_WORDS = 4
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


def _starts(field: str, word: str) -> Q:
    """`field` starts with `word` in any case, as a range of the ordered name index."""
    upper = word.upper()
    if len(upper) != len(word):  # "ß" -> "SS": the database would not agree; no index then
        return Q(**{f"{field}_name__istartswith": word})
    return Q(**{f"{field}_key__startswith": upper})


def _name_parts(words: list[str]) -> list[Q]:
    """Customers whose names start with every word typed (each a first- or last-name prefix),
    as parts that each begin with one indexed prefix: "the last name starts with word i (and
    each other word starts either name)" for each i, and "the first name starts with every
    word". Together they are exactly the customers that match."""
    either = [_starts("first", w) | _starts("last", w) for w in words]
    parts = []
    for i, word in enumerate(words):
        part = _starts("last", word)
        for j, other in enumerate(either):
            if j != i:
                part &= other
        parts.append(part)
    every_first = Q()
    for word in words:
        every_first &= _starts("first", word)
    return [*parts, every_first]


def search_customers(query: str, *, limit: int) -> list[Customer]:
    """The desk's search as the agent types: our own customers whose names start with the
    words typed, or whose email, phone, order reference or CRM id matches, in one query, each
    with its billing address and number of open orders, ordered by name.

    Each way of matching is a part of its own, read from its index and cut at `limit` (the
    name parts in the page's order, so the first page of a prefix shared by thousands is read
    from the index alone); only their union, a few dozen rows at most, is joined, counted and
    ordered."""
    text = " ".join(query.split())
    if len(text) < MIN_QUERY:
        return []
    keyed = Customer.objects.annotate(
        last_key=ByteUpper("last_name"), first_key=ByteUpper("first_name")
    )
    in_order = ("last_key", "first_key", "pk")
    matches = [Q(email__icontains=text) | Q(crm_id__iexact=text)]
    digits = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?\d{4,}", digits):
        matches.append(Q(phone__contains=digits.lstrip("+")))
        # A whole number is matched as stored (E.164), whichever way it was typed.
        number = e164(text)
        if number:
            matches.append(Q(phone=number))
    parts = [keyed.filter(q).order_by(*in_order).values("pk")[:limit] for q in matches]
    parts += [
        keyed.filter(q).order_by(*in_order).values("pk")[:limit]
        for q in _name_parts(text.split()[:MAX_WORDS])
    ]
    by_order = Customer.objects.filter(orders__reference__iexact=text).order_by().values("pk")
    matching: Any  # the UNION of the parts, or the ids they hold
    if connection.features.supports_slicing_ordering_in_compound:
        matching = by_order.union(*parts)
    else:  # SQLite (`make run`'s embedded default) refuses a LIMIT inside a UNION: part by part
        matching = {row["pk"] for part in (by_order, *parts) for row in part}
    # Counted apart from the match: a match through an order reference filters the join.
    open_orders = (
        Customer.objects.filter(pk=OuterRef("pk"))
        .annotate(count=Count("orders", filter=Q(orders__status="open")))
        .values("count")
    )
    found: QuerySet[Customer] = (
        keyed.filter(pk__in=matching)
        .select_related("billing_address")
        .annotate(open_orders=Coalesce(Subquery(open_orders), 0))
        .order_by(*in_order)
    )
    return list(found[:limit])
