"""Supervisors and administrators read the audit trail (0002's roles stay as they were)."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

READERS = ("Supervisors", "Administrators")


def grant_view_audit_trail(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # AuditEntry (0003) is new: its permissions are normally created after all migrations.
    app_config = apps.get_app_config("agentdesk")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="agentdesk", codename="view_auditentry")
    for name in READERS:
        Group.objects.get_or_create(name=name)[0].permissions.add(view)


def revoke_view_audit_trail(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(
        content_type__app_label="agentdesk", codename="view_auditentry"
    ).first()
    if view is not None:
        for group in Group.objects.filter(name__in=READERS):
            group.permissions.remove(view)


class Migration(migrations.Migration):
    dependencies = [("agentdesk", "0003_audit_trail")]

    operations = [migrations.RunPython(grant_view_audit_trail, revoke_view_audit_trail)]
