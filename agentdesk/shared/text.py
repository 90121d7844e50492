"""Text that goes into a column: cut to the column's length in one place, by the model's own
field definition, for values that come from outside (VCC, a CRM, an exception's message)."""

from django.db import models


def fit(model: type[models.Model], field: str, value: object) -> str:
    """`value` as text, cut to the max_length of `model.field`."""
    column = model._meta.get_field(field)
    max_length = column.max_length if isinstance(column, models.Field) else None
    text = "" if value is None else str(value)
    return text[:max_length] if max_length else text
