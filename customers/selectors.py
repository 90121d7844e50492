"""Reads of customers the desk needs."""

import re

from django.db.models import Count, Q, QuerySet

from customers.models import Customer

MIN_QUERY = 2


def search_customers(query: str, *, limit: int) -> list[Customer]:
    """Our own customers matching `query` by name, phone, email, order reference or CRM id,
    in one query, each with its billing address and number of open orders."""
    text = " ".join(query.split())
    if len(text) < MIN_QUERY:
        return []
    match = Q(email__icontains=text) | Q(crm_id__iexact=text) | Q(orders__reference__iexact=text)
    digits = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?\d{4,}", digits):
        match |= Q(phone__contains=digits.lstrip("+"))
    words = text.split()
    by_name = Q()
    for word in words:
        by_name &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    match |= by_name
    found: QuerySet[Customer] = (
        Customer.objects.filter(match)
        .select_related("billing_address")
        .annotate(open_orders=Count("orders", filter=Q(orders__status="open"), distinct=True))
        .order_by("last_name", "first_name", "pk")
    )
    return list(found[:limit])
