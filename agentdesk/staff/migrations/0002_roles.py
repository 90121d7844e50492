"""Create the three role groups and give each its permissions (re-runnable)."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

VIEW_ALL = [
    ("customers", "customer", "view"),
    ("customers", "billingaddress", "view"),
    ("payments", "order", "view"),
    ("payments", "payment", "view"),
    ("payments", "paymentevent", "view"),
    ("payments", "webhookdelivery", "view"),
    ("payments", "paymentflow", "view"),
    ("agentdesk", "agent", "view"),
]
ROLES = {
    "Agents": [("payments", "payment", "take")],
    "Supervisors": [
        *VIEW_ALL,
        ("payments", "payment", "resolve"),
        ("payments", "payment", "export"),
    ],
    "Administrators": [
        *VIEW_ALL,
        *[("payments", "paymentflow", action) for action in ("add", "change", "delete")],
        *[("agentdesk", "agent", action) for action in ("add", "change", "delete")],
        *[("auth", "user", action) for action in ("view", "add", "change", "delete")],
        *[("auth", "group", action) for action in ("view", "add", "change", "delete")],
    ],
}


def create_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [
                Permission.objects.get(content_type__app_label=app, codename=f"{action}_{model}")
                for app, model, action in grants
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("agentdesk", "0001_initial"),
        ("customers", "0001_initial"),
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
