"""Migrations: every model change has its migration, so a deploy's `migrate` is complete."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_phones_saved_before_are_brought_to_e164() -> None:
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    from customers.models import Customer
    from tests import builders

    typed = builders.customer(phone="07700900123")
    unreadable = builders.customer(phone="+999123456")
    migration = import_module("customers.migrations.0005_phones_in_e164")
    with connection.schema_editor() as editor:
        migration.phones_to_e164(apps, editor)
    assert Customer.objects.get(pk=typed.pk).phone == "+447700900123"
    assert Customer.objects.get(pk=unreadable.pk).phone == "+999123456"
