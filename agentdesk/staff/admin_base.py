"""What every admin page of ours shares: admin changes go to the audit trail, history is
read-only for everyone, lists over large tables never count every row, and no card number is
typed in (search boxes and free-text fields refuse one)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.db.models.fields import Field
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.utils.functional import cached_property

from agentdesk.shared.cards import CARD_NUMBER_MESSAGE, contains_card_number, refuse_card_number
from agentdesk.shared.times import when
from agentdesk.staff import audit
from agentdesk.staff.models import AuditEntry


class CappedPaginator(Paginator):
    """Counts at most `limit` + 1 rows (a LIMITed subquery, not a full COUNT): a list of a
    million payments answers as fast as a list of a hundred. Pages go as deep as the limit;
    past it, narrow the list (dates, filters)."""

    @property
    def limit(self) -> int:
        return settings.ADMIN_COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # Unordered: any limit + 1 rows count the same, and the database may stop early.
            return rows.order_by()[: self.limit + 1].count()
        return min(len(rows), self.limit + 1)

    @property
    def capped(self) -> bool:
        """True when more rows match than were counted."""
        return self.count > self.limit


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
