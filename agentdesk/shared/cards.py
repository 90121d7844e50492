"""Card numbers: the Luhn check every card number passes, finding one in text, and the one
validator that refuses text holding one (staff never type card data; callers key it)."""

import re

from django.core.exceptions import ValidationError

CARD_NUMBER_LENGTHS = range(13, 20)
CARD_NUMBER_MESSAGE = (
    "This looks like a card number: card details are only ever keyed by the caller on their phone."
)
# Digits, possibly grouped by single spaces, dots or dashes ("4111 1111-1111.1111"), and GUIDs,
# matched first so their all-digit groups are never taken for a card number.
_DIGIT_RUN = re.compile(
    r"(?P<guid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<run>(?<![0-9])[0-9](?:[ .\-]?[0-9])*(?![0-9]))"
)
_SEPARATOR = re.compile(r"[ .\-]")


def luhn_valid(digits: str) -> bool:
    """The Luhn check every card number passes (`digits` holds digits only)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def holds_card_number(run: str) -> bool:
    """Whether a run of digit groups (separated by single spaces, dots or dashes) holds a card
    number: 13-19 digits passing Luhn, made of whole groups (so a number written next to a
    security code or a year is still found)."""
    groups = _SEPARATOR.split(run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > max(CARD_NUMBER_LENGTHS):
                break
            if len(digits) in CARD_NUMBER_LENGTHS and luhn_valid(digits):
                return True
    return False


def contains_card_number(text: str) -> bool:
    """Whether `text` holds a card number anywhere (see `holds_card_number`)."""
    return any(_is_card_run(match) for match in _DIGIT_RUN.finditer(text))


def scrub_card_numbers(text: str, replacement: str = "[card number removed]") -> str:
    """`text` with every run holding a card number replaced."""
    return _DIGIT_RUN.sub(lambda match: replacement if _is_card_run(match) else match.group(), text)


def _is_card_run(match: re.Match[str]) -> bool:
    run = match.group("run")
    return bool(run) and holds_card_number(run)


def refuse_card_number(value: object) -> None:
    """A form and model field validator: refuses text holding a card number."""
    if isinstance(value, str) and contains_card_number(value):
        raise ValidationError(CARD_NUMBER_MESSAGE, code="card_number")
