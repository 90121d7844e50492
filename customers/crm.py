"""Where the desk finds callers: a CRM adapter chosen by settings.CRM_ADAPTER.

- `builtin` reads our own customers.
- `http` reads a JSON CRM over HTTP (the shape is in docs/crm.md). A CRM customer an agent
  opens is copied into our tables (customers.services.open_caller), which is what payments
  point at and what searches fall back on while the CRM is slow or down.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests
from django.conf import settings
from django.core import checks

from agentdesk.shared.breaker import CircuitBreaker
from agentdesk.shared.money import MoneyError, parse_amount
from customers.details import AddressDetails, CustomerDetails, OrderDetails
from customers.models import Customer
from customers.selectors import search_customers

log = logging.getLogger("customers.crm")

LOCAL, CRM = "local", "crm"
SEARCH_LIMIT = 10
# After one failure the CRM is left alone this long: searches answer from the local copy at
# once instead of waiting for its timeout on every keystroke.
BACKOFF_SECONDS = 15.0
# Shared by every process: one process's failure spares the others the wait.
breaker = CircuitBreaker("crm", threshold=1, open_seconds=BACKOFF_SECONDS)


class CrmUnavailable(Exception):
    """The CRM did not answer usably; `str()` is a message fit for the agent."""


class CallerNotFound(Exception):
    """The caller a key names does not exist (any more)."""


@dataclass(frozen=True)
class CrmCustomer:
    """A customer as a CRM described it (never card data)."""

    crm_id: str
    person: CustomerDetails
    address: AddressDetails | None = None
    orders: tuple[OrderDetails, ...] = field(default=())


@dataclass(frozen=True)
class CallerMatch:
    """One search result: what the agent sees, and the key that opens it."""

    key: str  # "local:<our pk>" or "crm:<CRM id>"
    name: str
    email: str = ""
    phone: str = ""
    place: str = ""
    crm_id: str = ""
    open_orders: int = 0


@dataclass(frozen=True)
class SearchResult:
    matches: list[CallerMatch]
    problem: str = ""  # set when the CRM failed and `matches` come from the local copy


class Crm(Protocol):
    def search(self, query: str, *, limit: int) -> list[CallerMatch]:
        """Callers matching name, phone, email, order reference or CRM id."""
        ...

    def fetch(self, crm_id: str) -> CrmCustomer:
        """The CRM's current record; CallerNotFound or CrmUnavailable otherwise."""
        ...


def make_key(kind: str, value: object) -> str:
    return f"{kind}:{value}"


def parse_key(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    if kind not in (LOCAL, CRM) or not value:
        raise CallerNotFound(f"No caller is known by {key!r}.")
    return kind, value


def local_match(customer: Customer) -> CallerMatch:
    address = getattr(customer, "billing_address", None)
    place = ", ".join(p for p in (address.city, address.country) if p) if address else ""
    return CallerMatch(
        key=make_key(LOCAL, customer.pk),
        name=customer.full_name,
        email=customer.email,
        phone=customer.phone,
        place=place,
        crm_id=customer.crm_id or "",
        open_orders=getattr(customer, "open_orders", 0),
    )


class BuiltinCrm:
    """Our own customers table is the CRM."""

    def search(self, query: str, *, limit: int) -> list[CallerMatch]:
        return [local_match(c) for c in search_customers(query, limit=limit)]

    def fetch(self, crm_id: str) -> CrmCustomer:
        raise CallerNotFound("The built-in CRM opens our own customers only.")


class HttpCrm:
    """A JSON CRM: `GET {url}/customers?q=&limit=` and `GET {url}/customers/{id}`, with a
    bearer token, inside `timeout` seconds. After a failure the CRM is left alone for a while
    (`breaker`: searches answer from the local copy at once)."""

    def __init__(self, *, url: str, token: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def search(self, query: str, *, limit: int) -> list[CallerMatch]:
        body = self._get("/customers", params={"q": query, "limit": str(limit)})
        items = body.get("customers") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise self._failed("The CRM answered something the desk cannot read.")
        matches = []
        for item in items[:limit]:
            try:
                record = parse_customer(item)
            except ValueError as error:
                log.warning("CRM search result skipped: %s", error)
                continue
            matches.append(crm_match(record))
        return matches

    def fetch(self, crm_id: str) -> CrmCustomer:
        path = f"/customers/{quote(crm_id, safe='')}"
        body = self._get(path, not_found="The CRM no longer has this customer.")
        try:
            return parse_customer(body)
        except ValueError as error:
            raise self._failed(f"The CRM's record {crm_id} cannot be used: {error}.") from None

    def _get(
        self, path: str, *, params: Mapping[str, str] | None = None, not_found: str = ""
    ) -> Any:
        opened = breaker.opened()
        if opened is not None:
            raise CrmUnavailable(opened.reason)
        try:
            response = requests.get(
                self.url + path,
                params=params,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                timeout=(self.timeout, self.timeout),
            )
        except requests.Timeout:
            raise self._failed(f"The CRM did not answer within {self.timeout:g} s.") from None
        except requests.RequestException:
            raise self._failed("The CRM cannot be reached.") from None
        if response.status_code == 404 and not_found:
            raise CallerNotFound(not_found)
        if response.status_code in (401, 403):
            raise self._failed("The CRM refused the desk's token (CRM_TOKEN).")
        if response.status_code != 200:
            raise self._failed(f"The CRM answered with an error ({response.status_code}).")
        try:
            return response.json()
        except ValueError:
            raise self._failed("The CRM answered something the desk cannot read.") from None

    def _failed(self, message: str) -> CrmUnavailable:
        log.warning("CRM unavailable: %s", message)
        breaker.failed(reason=message)
        return CrmUnavailable(message)


def get_crm() -> Crm:
    if settings.CRM_ADAPTER == "http":
        return HttpCrm(
            url=settings.CRM_URL,
            token=settings.CRM_TOKEN,
            timeout=settings.CRM_TIMEOUT,
        )
    return BuiltinCrm()


@checks.register()
def check_crm_settings(**kwargs: object) -> list[checks.CheckMessage]:
    """`manage.py check` names a CRM setting that cannot work."""
    if settings.CRM_ADAPTER not in ("builtin", "http"):
        return [checks.Error("CRM_ADAPTER must be 'builtin' or 'http'.", id="customers.E001")]
    if settings.CRM_ADAPTER == "http" and not settings.CRM_URL.startswith(("http://", "https://")):
        return [
            checks.Error(
                "CRM_ADAPTER=http needs CRM_URL, the CRM's http(s) base URL.", id="customers.E002"
            )
        ]
    if settings.CRM_TIMEOUT <= 0:
        return [checks.Error("CRM_TIMEOUT must be a positive number.", id="customers.E003")]
    return []


def find_callers(query: str, *, limit: int = SEARCH_LIMIT) -> SearchResult:
    """The configured CRM's matches; when it fails, our local copy's, with the reason."""
    try:
        return SearchResult(get_crm().search(query, limit=limit))
    except CrmUnavailable as problem:
        return SearchResult(BuiltinCrm().search(query, limit=limit), str(problem))


# --- Reading a CRM's JSON (docs/crm.md); tolerant of a few spellings, strict on what we need ---


def _text(record: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = record.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def parse_customer(raw: object) -> CrmCustomer:
    """A CrmCustomer from one JSON object; ValueError says what is missing."""
    if not isinstance(raw, dict):
        raise ValueError("a customer is not a JSON object")
    crm_id = _text(raw, "id", "crm_id", "customerId")
    first = _text(raw, "first_name", "firstName")
    last = _text(raw, "last_name", "lastName", "surname")
    if not (crm_id and first and last):
        raise ValueError("a customer needs an id, a first name and a last name")
    address = raw.get("billing_address") or raw.get("billingAddress") or raw.get("address")
    orders = raw.get("orders")
    return CrmCustomer(
        crm_id=crm_id,
        person=CustomerDetails(
            first_name=first,
            last_name=last,
            email=_text(raw, "email"),
            phone=_text(raw, "phone", "phone_number", "phoneNumber"),
        ),
        address=parse_address(address) if isinstance(address, dict) else None,
        orders=tuple(parse_orders(orders if isinstance(orders, list) else [])),
    )


def parse_address(raw: Mapping[str, Any]) -> AddressDetails:
    return AddressDetails(
        line1=_text(raw, "line1", "street1", "street"),
        line2=_text(raw, "line2", "street2"),
        city=_text(raw, "city", "town"),
        state=_text(raw, "state", "region", "county"),
        postcode=_text(raw, "postcode", "postal_code", "postalCode", "zip"),
        country=_text(raw, "country", "country_code", "countryCode").upper(),
    )


def parse_orders(items: list[Any]) -> list[OrderDetails]:
    """The open orders among `items`; an order without a reference, amount or currency, or
    not open, is left out."""
    orders = []
    for raw in items:
        if not isinstance(raw, dict) or _text(raw, "status").lower() not in ("", "open"):
            continue
        reference, currency = _text(raw, "reference", "ref"), _text(raw, "currency").upper()
        try:
            amount = parse_amount(_text(raw, "amount"))
        except MoneyError:
            continue
        if reference and currency:
            orders.append(OrderDetails(amount, currency, _text(raw, "description"), reference))
    return orders


def crm_match(record: CrmCustomer) -> CallerMatch:
    address = record.address
    place = ", ".join(p for p in (address.city, address.country) if p) if address else ""
    person = record.person
    return CallerMatch(
        key=make_key(CRM, record.crm_id),
        name=f"{person.first_name} {person.last_name}",
        email=person.email,
        phone=person.phone,
        place=place,
        crm_id=record.crm_id,
        open_orders=len(record.orders),
    )
