"""Card numbers: the Luhn check every card number passes, and finding one in text."""

import re

CARD_NUMBER_LENGTHS = range(13, 20)


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
    """Whether a run of digit groups (separated by single spaces or dashes) holds a card
    number: 13-19 digits passing Luhn, made of whole groups (so a number written next to a
    security code or a year is still found)."""
    groups = re.split(r"[ -]", run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > max(CARD_NUMBER_LENGTHS):
                break
            if len(digits) in CARD_NUMBER_LENGTHS and luhn_valid(digits):
                return True
    return False
