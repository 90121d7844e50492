"""Phone numbers in one shape, E.164 ("+447700900123"), so that a number finds its caller
however it was typed; a number without its country code is read in DESK_DEFAULT_COUNTRY."""

import phonenumbers
from django.conf import settings


def e164(text: str) -> str | None:
    """'07700 900123' (in the default country) or '+44 7700 900123' -> '+447700900123';
    None when `text` cannot be a phone number."""
    try:
        number = phonenumbers.parse(text, settings.DESK_DEFAULT_COUNTRY)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hint() -> str:
    """What to type instead of a number that cannot be read."""
    return (
        "Enter a phone number with its country code, e.g. +44 1632 960961 (a number without "
        f"one is read as a {settings.DESK_DEFAULT_COUNTRY} number)."
    )
