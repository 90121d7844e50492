"""What every admin page of ours shares: admin changes go to the audit trail, history is
read-only for everyone, lists over large tables never count every row, and no card number is
typed in (search boxes and free-text fields refuse one)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db import connections, models
from django.db.models import F, Func, Model, Q, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.utils.functional import cached_property

from agentdesk.shared.cards import CARD_NUMBER_MESSAGE, contains_card_number, refuse_card_number
from agentdesk.shared.times import when
from agentdesk.staff import audit
from agentdesk.staff.models import AuditEntry

# A time column as seconds since 1970, a double (CappedPaginator.epoch_keys).
EPOCH = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
# Column types whose order Python and PostgreSQL agree on.
SORTED_HERE = (models.DateTimeField, models.DateField, models.IntegerField, models.AutoField)


class CappedPaginator(Paginator):
    """Counts at most `limit` + 1 rows, never a full COUNT: a list of ten million payments
    answers as fast as a list of a hundred. Pages go as deep as the limit; past it, narrow the
    list (dates, filters).

    The count reads the matching rows' ids and sort keys, unordered (`limit` + 1 at most), so
    the database takes its cheapest way to them: for several filters together, one index that
    holds them all (payments' btree_gin index) or the intersection of several. When no more
    than `limit` rows match, those ids, sorted here, give every page and the list's first and
    last dates without another read of the filters: a rare combination of filters never makes
    the database walk an index along the dates looking for rows that are not there. Past the
    limit, a page's ids are read along the sort order (the matches are then many)."""

    @property
    def limit(self) -> int:
        return settings.ADMIN_COUNT_LIMIT

    @cached_property
    def sort_keys(self) -> list[tuple[str, bool]] | None:
        """The list's order as (field attname, descending), when it is by plain columns."""
        rows = self.object_list
        if not isinstance(rows, QuerySet) or rows.query.annotations or rows.query.distinct:
            return None
        keys: list[tuple[str, bool]] = []
        for item in rows.query.order_by:
            if not isinstance(item, str) or "__" in item or item.startswith("?"):
                return None
            name = item.lstrip("-")
            try:
                field = rows.model._meta.pk if name == "pk" else rows.model._meta.get_field(name)
            except FieldDoesNotExist:
                return None
            if field.null or not isinstance(field, SORTED_HERE):
                # None does not sort against values, and text sorts by the database's
                # collation: the database orders those.
                return None
            if all(field.attname != name for name, _ in keys):  # "-id" and "-pk" are one
                keys.append((field.attname, item.startswith("-")))
        return keys or None

    @cached_property
    def epoch_keys(self) -> set[str]:
        """The time columns read as seconds since 1970 (PostgreSQL): 10,000 numbers arrive in
        a third of the time of 10,000 zoned datetimes, and sort the same (microseconds fit a
        double's 53 bits until the year 2255)."""
        rows = self.object_list
        if not isinstance(rows, QuerySet) or connections[rows.db].vendor != "postgresql":
            return set()
        meta = rows.model._meta
        return {
            name
            for name, _ in self.sort_keys or []
            if any(f.attname == name and isinstance(f, models.DateTimeField) for f in meta.fields)
        }

    @cached_property
    def head(self) -> list[tuple[Any, ...]] | None:
        """Up to `limit` + 1 matching rows as (pk, sort key values...), unordered."""
        rows = self.object_list
        if self.sort_keys is None or not isinstance(rows, QuerySet):
            return None
        keys = {
            f"sort_key_{i}": (
                Func(F(name), template=EPOCH, output_field=models.FloatField())
                if name in self.epoch_keys
                else F(name)
            )
            for i, (name, _) in enumerate(self.sort_keys)
        }
        return list(rows.order_by().annotate(**keys).values_list("pk", *keys)[: self.limit + 1])

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if self.head is not None:
            return len(self.head)
        if isinstance(rows, QuerySet):
            # Unordered: any limit + 1 rows count the same, and the database may stop early.
            return rows.order_by()[: self.limit + 1].count()
        return min(len(rows), self.limit + 1)

    @property
    def capped(self) -> bool:
        """True when more rows match than were counted."""
        return self.count > self.limit

    @cached_property
    def sorted_ids(self) -> list[Any] | None:
        """Every matching row's pk in the list's order, when they are all known (not capped)."""
        if self.head is None or self.sort_keys is None or self.capped:
            return None
        ordered = list(self.head)
        for position, (_, descending) in reversed(list(enumerate(self.sort_keys, start=1))):
            ordered.sort(key=lambda row: row[position], reverse=descending)
        return [row[0] for row in ordered]

    def bounds(self, field: str) -> tuple[Any, Any] | None:
        """The smallest and largest `field` of the matching rows, when known without a read."""
        if self.sort_keys is None or self.head is None or self.capped:
            return None
        for position, (name, _) in enumerate(self.sort_keys, start=1):
            if name == field:
                values = [row[position] for row in self.head]
                if not values:
                    return (None, None)
                low, high = min(values), max(values)
                if name in self.epoch_keys:
                    return (datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC))
                return (low, high)
        return None

    def page(self, number: int | str) -> Page:
        """The page's rows in two reads: the ids of the rows the page holds (known from the
        count, or read along the list's order with no joins, so OFFSET skips index entries
        rather than joined rows), then those rows with their related ones by primary key.
        Page 100 costs little more than page 1."""
        rows = self.object_list
        if not isinstance(rows, QuerySet) or rows.query.annotations or rows.query.distinct:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.sorted_ids is not None:
            ids = self.sorted_ids[bottom:top]
        else:
            ids = list(rows.values_list("pk", flat=True)[bottom:top])
        return Page(self.rows_by_ids(ids), number, self)

    def rows_by_ids(self, ids: list[Any]) -> QuerySet[Any]:
        """The rows of `ids`, with the list's related rows and in its order."""
        rows = self.object_list
        assert isinstance(rows, QuerySet)
        listed = rows.model._default_manager.filter(pk__in=ids)
        listed.query.select_related = rows.query.select_related
        if rows.query.order_by:
            listed = listed.order_by(*rows.query.order_by)
        return listed


class CappedChangeList(ChangeList):
    """Django lists a one-page result (or "Show all") straight from the filtered query, not
    through the paginator: here those rows too are read by the ids the count found."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        paginator = self.paginator
        if isinstance(paginator, CappedPaginator) and paginator.sorted_ids is not None:
            if self.show_all or not self.multi_page:
                self.result_list = paginator.rows_by_ids(paginator.sorted_ids)


class CardNumberFields(BaseModelAdmin):
    """Every free-text field of the form (an admin's or an inline's) refuses a card number."""

    def formfield_for_dbfield(
        self, db_field: "Field[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(formfield, forms.CharField):
            formfield.validators.append(refuse_card_number)
        return formfield


class RefusesCardNumbers(CardNumberFields, admin.ModelAdmin):
    """A search for a card number is refused (the list comes back without it, the reason on
    top); every free-text field refuses one. A NUL in the query is a 400, not a 500."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if any("\x00" in value for values in request.GET.lists() for value in values[1]):
            # PostgreSQL refuses NUL in text: a filter or search holding one is a bad request.
            return HttpResponseBadRequest("A filter or search holds a NUL character.")
        if contains_card_number(request.GET.get(SEARCH_VAR, "")):
            self.message_user(request, CARD_NUMBER_MESSAGE, messages.ERROR)
            query = request.GET.copy()
            del query[SEARCH_VAR]
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)


class AuditedModelAdmin(RefusesCardNumbers):
    """Every add, change and delete made in admin is also written to the audit trail."""

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> LogEntry:
        entry = super().log_addition(request, obj, message)
        self._audit(request, obj, "added", entry.get_change_message())
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> LogEntry:
        entry = super().log_change(request, obj, message)
        self._audit(request, obj, "changed", entry.get_change_message())
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:  # before the deletion, as Django calls it
            self._audit(request, obj, "deleted", "")
        return super().log_deletions(request, queryset)

    def _audit(self, request: HttpRequest, obj: Model, change: str, message: str) -> None:
        audit.record(
            AuditEntry.Action.ADMIN_CHANGE,
            actor=request.user,
            target=f"{obj._meta.verbose_name} {obj.pk}: {obj}",
            request=request,
            change=change,
            model=obj._meta.label_lower,
            object_id=str(obj.pk),
            message=message,
        )


class LargeTableAdmin(AuditedModelAdmin):
    """A list that stays fast at millions of rows: capped counts, no full count, no facet
    counts (each would scan the table)."""

    paginator = CappedPaginator

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CappedChangeList

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # The filter for the rows a search term names, built from indexed lookups (a selector,
    # given as a staticmethod); None keeps Django's search, which scans with LIKE '%term%'.
    search_filter: Callable[[str], Q] | None = None

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = " ".join(search_term.split())
        if self.search_filter is None or not term:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(self.search_filter(term)), False


class ReadOnly:
    """For admins and inlines of records of what happened: nobody adds, edits or deletes them
    in admin, whatever their permissions (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HistoryAdmin(ReadOnly, LargeTableAdmin):
    """A large, read-only record of what happened."""

    actions = None


def zoned(field: str, description: str) -> Callable[[Any, Model], str]:
    """An admin column or read-only field showing the time in `field` with its zone (Django's
    own rendering of a time names no zone), sorted by `field`."""

    @admin.display(description=description, ordering=field)
    def show(model_admin: Any, record: Model) -> str:
        return when(getattr(record, field))

    return show
