"""The reads behind the customer pages: finding a customer by what a person would type."""

import re

from django.db.models import Q, QuerySet

from customers.models import Customer

# Words a supervisor may put before a name ("Mrs Patel"); they are not part of it.
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"})
PHONE = re.compile(r"\+?[0-9 ()-]{6,20}")


def customer_search(term: str) -> Q:
    """Customers whose first or last name, full name, email, phone or CRM id is `term`
    (whole values, case-insensitive); each an indexed lookup on the one table."""
    words = [w for w in term.split() if w.lower().strip(".") not in TITLES] or term.split()
    name = " ".join(words)
    match = (
        Q(first_name__iexact=name)
        | Q(last_name__iexact=name)
        | Q(email__iexact=term)
        | Q(crm_id=term)
    )
    for split in range(1, len(words)):
        match |= Q(
            first_name__iexact=" ".join(words[:split]), last_name__iexact=" ".join(words[split:])
        )
    if PHONE.fullmatch(term):
        match |= Q(phone__in={term, re.sub(r"[ ()-]", "", term)})
    return match


def matching_customers(term: str) -> QuerySet[Customer]:
    return Customer.objects.filter(customer_search(term))
