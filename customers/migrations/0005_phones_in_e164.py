"""Phones saved before numbers were kept in E.164: brought to that shape where they can be read
(in DESK_DEFAULT_COUNTRY when they have no country code), so a search by phone finds them."""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from customers.phones import e164


def phones_to_e164(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Customer = apps.get_model("customers", "Customer")
    for customer in Customer.objects.exclude(phone="").only("pk", "phone").iterator():
        number = e164(customer.phone)
        if number and number != customer.phone:
            Customer.objects.filter(pk=customer.pk).update(phone=number)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_desk_search_trigram_indexes")]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=models.CharField(
                blank=True,
                help_text=(
                    "In E.164 (+441632960961); a number typed without its country code is read "
                    "in the desk's default country."
                ),
                max_length=32,
            ),
        ),
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop),
    ]
