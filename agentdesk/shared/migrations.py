"""Operations for migrations that must not lock a large table."""

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently


class OnPostgresOnly:
    """On PostgreSQL the operation runs; elsewhere (SQLite in a newcomer's checkout) it changes
    the migration state and nothing else. Put it before the operation's class."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)  # type: ignore[misc]

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)  # type: ignore[misc]


class AddIndexConcurrentlyOnPostgres(OnPostgresOnly, AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY (so in a migration with `atomic = False`) on PostgreSQL."""


class RemoveIndexConcurrentlyOnPostgres(OnPostgresOnly, RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY (a migration with `atomic = False`) on PostgreSQL."""
