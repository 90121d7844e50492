"""The sidebar filters of the supervisors' lists. Each one's choices come from a small table or
an index, never from reading every payment."""

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from agentdesk.staff.models import Agent
from payments import selectors
from payments.models import Payment, PaymentFlow

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices


class WorkQueueFilter(admin.SimpleListFilter):
    """The supervisors' work queues: payments that wait for a decision, and decided ones."""

    title = "work queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("waiting", "Waiting for a supervisor"),
            ("unknown", "Outcome unknown"),
            ("flagged", "Contradiction flagged"),
            ("resolved", "Resolved by a supervisor"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        match self.value():
            case "waiting":
                return queryset.filter(selectors.needing_a_supervisor())
            case "unknown":
                return queryset.filter(state=Payment.State.UNKNOWN)
            case "flagged":
                return queryset.filter(flagged=True)
            case "resolved":
                return queryset.filter(resolved_at__isnull=False)
        return queryset


class EnvironmentFilter(admin.SimpleListFilter):
    """Staging or production: where the payment was taken (its flow's environment then)."""

    title = "environment"
    parameter_name = "environment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return PaymentFlow.Environment.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in PaymentFlow.Environment.values:  # anything else is ignored
            return queryset.filter(environment=self.value())
        return queryset


class AgentFilter(admin.SimpleListFilter):
    """The agent who took the payment (their name and VCC agent id)."""

    title = "agent"
    parameter_name = "agent"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(agent.pk), str(agent)) for agent in Agent.objects.select_related("user")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or ""
        if value.isascii() and value.isdigit():  # ?agent=abc is ignored, not a 500
            return queryset.filter(agent_id=int(value))
        return queryset


class CurrencyFilter(admin.SimpleListFilter):
    """The currency (orders and payments each keep it on their row); the choices are the
    currencies orders use."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in selectors.currencies_in_use()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(currency=self.value())
        return queryset


class DateRangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class DateRangeFilter(admin.FieldListFilter):
    """From one date to another, both included (days in the site's time zone)."""

    template = "admin/date_range_filter.html"
    label = ""  # the sidebar's title; the field's name when blank

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: dict[str, list[str]],
        model: type[Model],
        model_admin: Any,
        field_path: str,
    ) -> None:
        self.parameter_start = f"{field_path}__from"
        self.parameter_end = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = self.label or f"{self.title} between (dates included)"
        given = {self.parameter_start: "", self.parameter_end: ""}
        given.update((name, request.GET[name]) for name in given if name in request.GET)
        self.form = DateRangeForm(
            {"start": given[self.parameter_start], "end": given[self.parameter_end]}
        )
        # The rest of the list's query (other filters, search), kept when dates are applied.
        self.other_parameters = [
            (name, value)
            for name, value in request.GET.items()
            if name not in given and name not in (PAGE_VAR, ERROR_FLAG)
        ]

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_start, self.parameter_end]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.form.is_valid():
            return queryset
        start, end = self.form.cleaned_data["start"], self.form.cleaned_data["end"]
        zone = timezone.get_current_timezone()
        if start:
            since = datetime.combine(start, time.min, tzinfo=zone)
            queryset = queryset.filter(**{f"{self.field_path}__gte": since})
        if end:
            until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
            queryset = queryset.filter(**{f"{self.field_path}__lt": until})
        return queryset

    def choices(self, changelist: ChangeList) -> Iterator["_ListFilterChoices"]:
        # The dates themselves are typed into the form (the template reads the filter).
        yield {
            "selected": bool(self.used_parameters),
            "query_string": changelist.get_query_string(
                remove=[self.parameter_start, self.parameter_end]
            ),
            "display": "Any date",
        }


class StartedBetweenFilter(DateRangeFilter):
    label = "started between (dates included)"


class StartedFilter(admin.DateFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "started"
