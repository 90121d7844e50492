"""`{% indexed_date_hierarchy cl %}`: admin's date drill-down without reading every row.

Django's own tag lists the years, months or days that have rows with a SELECT DISTINCT over
the whole filtered list, which reads a million payments. This one asks only for the first and
last date of the list at the current level (two LIMIT 1 reads along the index) and offers
every year, month or day between them.
"""

from datetime import date
from typing import Any

from django import template
from django.contrib.admin.views.main import ChangeList
from django.utils import formats, timezone
from django.utils.text import capfirst

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def indexed_date_hierarchy(cl: ChangeList) -> dict[str, Any]:
    field = cl.date_hierarchy
    year_field, month_field, day_field = (f"{field}__{part}" for part in ("year", "month", "day"))
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))

    def link(filters: dict[str, object]) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    if year and month and day:
        shown = date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
        }
    # Known from the count when the list holds few rows (CappedPaginator.bounds); otherwise
    # two LIMIT 1 reads along the date's index (MIN() and MAX() would read every matching row).
    known = getattr(cl.paginator, "bounds", lambda field: None)(field)
    if known is not None:
        earliest, latest = known
    else:
        dates = cl.queryset.values_list(field, flat=True)
        earliest, latest = dates.order_by(field).first(), dates.order_by(f"-{field}").first()
    if earliest is None or latest is None:
        return {"show": False}
    first, last = timezone.localtime(earliest).date(), timezone.localtime(latest).date()
    if not year and first.year == last.year:
        year = str(first.year)
        if first.month == last.month:
            month = str(first.month)
    # With a year (and month) chosen the list holds only those dates, so its first and last
    # dates bound the choices.
    if year and month:
        y, m = int(year), int(month)
        days = range(first.day, last.day + 1)
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": year},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: d}),
                    "title": capfirst(formats.date_format(date(y, m, d), "MONTH_DAY_FORMAT")),
                }
                for d in days
            ],
        }
    if year:
        y = int(year)
        months = range(first.month, last.month + 1)
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(formats.date_format(date(y, m, 1), "YEAR_MONTH_FORMAT")),
                }
                for m in months
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ],
    }
