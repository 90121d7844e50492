"""Load the demo: users for each role, customers with open orders, two flows on the sandbox.

Safe to run again: everything is looked up by a natural key and updated, never duplicated.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agentdesk.staff.models import ADMINISTRATORS, AGENTS, SUPERVISORS, Agent
from customers.models import BillingAddress, Customer
from payments.models import Order, PaymentFlow
from payments.vcc.accounts import BUILTIN

DEMO_PASSWORD = "agentdesk-demo"

USERS = [
    # username, first, last, group, staff, VCC agent id
    ("supervisor", "Sam", "Supervisor", SUPERVISORS, True, None),
    ("administrator", "Ada", "Administrator", ADMINISTRATORS, True, None),
    ("agent1", "Alex", "Agent", AGENTS, False, "1001"),
    ("agent2", "Bea", "Agent", AGENTS, False, "1002"),
]

CUSTOMERS = [
    # crm id, first, last, email, phone, (line1, city, state, postcode, country), orders
    (
        "CRM-1001",
        "Priya",
        "Patel",
        "priya.patel@example.com",
        "+441632960961",
        ("12 Acacia Avenue", "Leeds", "", "LS1 4AP", "GB"),
        [("DEMO-1001", "49.99", "GBP", "Annual magazine subscription")],
    ),
    (
        "CRM-1002",
        "John",
        "Smith",
        "john.smith@example.com",
        "+14155550123",
        ("500 Market Street", "San Francisco", "CA", "94105", "US"),
        [
            ("DEMO-1002", "120.00", "USD", "Replacement router"),
            ("DEMO-1003", "15.50", "USD", "Express delivery"),
        ],
    ),
    (
        "CRM-1003",
        "Yuki",
        "Tanaka",
        "yuki.tanaka@example.com",
        "+81312345678",
        ("1-1 Chiyoda", "Tokyo", "Tokyo", "100-0001", "JP"),
        [("DEMO-1004", "5400", "JPY", "Concert tickets")],
    ),
    (
        "CRM-1004",
        "Fatima",
        "Al-Sabah",
        "fatima@example.com",
        "+96522200000",
        ("Block 3, Street 12", "Kuwait City", "", "", "KW"),
        [("DEMO-1005", "12.345", "KWD", "Insurance premium")],
    ),
    (
        "CRM-1005",
        "Hans",
        "Müller",
        "hans.mueller@example.com",
        "+493012345678",
        ("Unter den Linden 1", "Berlin", "", "10117", "DE"),
        [("DEMO-1006", "89.90", "EUR", "Spare parts")],
    ),
]

FLOWS = [
    # name, accountConfigurationId, environment, display mode, default
    ("Sandbox card payments (staging)", 1, "staging", "iframe", True),
    ("Sandbox card payments (production)", 4, "production", "popup", False),
]


class Command(BaseCommand):
    help = "Load demo users, customers, orders and payment flows (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION or not settings.VCC_SANDBOX_ENABLED:
            raise CommandError("Demo data needs the built-in sandbox: not in production.")
        with transaction.atomic():
            self.load_users()
            self.load_customers()
            self.load_flows()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Sign in at {settings.SITE_URL}/login/ as:")
        for username, _, _, group, _, _ in USERS:
            self.stdout.write(f"  {username:<14} / {DEMO_PASSWORD}   ({group})")
        self.stdout.write(self.second_factor_note())
        # The addresses come from SITE_URL, so a WEB_BIND on another port is announced right.
        self.stdout.write("")
        self.stdout.write(
            f"  Agent desk:  {settings.SITE_URL}/   (admin: {settings.SITE_URL}/admin/)"
        )
        self.stdout.write(f"  Caller keypad and sandbox: {settings.SITE_URL}/sandbox/")

    def second_factor_note(self) -> str:
        asked = [
            who
            for who, on in (
                ("supervisor and administrator", settings.MFA_REQUIRED_FOR_STAFF),
                ("agents", settings.MFA_FOR_AGENTS),
            )
            if on
        ]
        if not asked:
            return (
                "The password alone signs in (MFA_REQUIRED_FOR_STAFF and MFA_FOR_AGENTS are "
                "off in development)."
            )
        return (
            f"Then a second factor ({' and '.join(asked)}): the first sign-in shows a QR code "
            "to scan with an authenticator app (or its secret to type in), confirmed by the "
            "app's code, and recovery codes to keep; later sign-ins ask for the app's code."
        )

    def load_users(self) -> None:
        for username, first, last, group_name, staff, vcc_id in USERS:
            user, created = User.objects.update_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": staff},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.set([Group.objects.get(name=group_name)])
            if vcc_id:
                Agent.objects.update_or_create(user=user, defaults={"vcc_agent_id": vcc_id})

    def load_customers(self) -> None:
        for crm_id, first, last, email, phone, address, orders in CUSTOMERS:
            customer, _ = Customer.objects.update_or_create(
                crm_id=crm_id,
                defaults={"first_name": first, "last_name": last, "email": email, "phone": phone},
            )
            line1, city, state, postcode, country = address
            BillingAddress.objects.update_or_create(
                customer=customer,
                defaults={
                    "line1": line1,
                    "city": city,
                    "state": state,
                    "postcode": postcode,
                    "country": country,
                },
            )
            for reference, amount, currency, description in orders:
                Order.objects.get_or_create(
                    reference=reference,
                    defaults={
                        "customer": customer,
                        "amount": Decimal(amount),
                        "currency": currency,
                        "description": description,
                    },
                )

    def load_flows(self) -> None:
        for name, config_id, environment, mode, default in FLOWS:
            if default:
                PaymentFlow.objects.filter(is_default=True).exclude(name=name).update(
                    is_default=False
                )
            PaymentFlow.objects.update_or_create(
                name=name,
                defaults={
                    "account": BUILTIN,
                    "account_configuration_id": config_id,
                    "environment": environment,
                    "display_mode": mode,
                    "is_default": default,
                    # The sandbox texts links to its own SMS inbox (/sandbox/sms/).
                    "allows_links": True,
                },
            )
