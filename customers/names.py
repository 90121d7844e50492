"""Names compared the way the desk's search reads them from an index."""

from typing import Any

from django.db.models import CharField, Func


class ByteUpper(Func):
    """UPPER(x), ordered and compared byte by byte on PostgreSQL (COLLATE "C").

    With the "C" collation a B-tree index serves `LIKE 'PAT%'` as a range and returns its rows
    in order, whatever the database's own collation: the desk's name search reads the first
    page of a common prefix ("Pat" among 100,000 customers) from the index alone. Elsewhere
    (SQLite on a laptop) it is plain UPPER(x)."""

    function = "UPPER"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        sql, params = self.as_sql(compiler, connection, **extra)
        return f'({sql} COLLATE "C")', params
