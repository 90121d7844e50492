"""Operations for migrations that must not lock a large table."""

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY (so in a migration with `atomic = False`) on PostgreSQL;
    elsewhere (SQLite in a newcomer's checkout) it changes the migration state and nothing
    else."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL (a migration with `atomic = False`); elsewhere
    the migration state only, as AddIndexConcurrentlyOnPostgres."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)
