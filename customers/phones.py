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


MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class NotAMobile(ValueError):
    """A number a text message cannot be sent to; `str()` says why, fit to show the agent."""


def mobile_e164(text: str) -> str:
    """A valid mobile number in E.164, however it was typed (see e164); NotAMobile otherwise."""
    try:
        number = phonenumbers.parse(text, settings.DESK_DEFAULT_COUNTRY)
    except phonenumbers.NumberParseException:
        raise NotAMobile(phone_hint()) from None
    if not phonenumbers.is_valid_number(number):
        raise NotAMobile(f"{text.strip()} is not a valid phone number. {phone_hint()}")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise NotAMobile(
            f"{text.strip()} is not a mobile number: a payment link goes by text message. "
            "Ask the caller for their mobile number."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def international(number: str) -> str:
    """'+447700900123' -> '+44 7700 900123', for people to read; `number` as given if unreadable."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked(number: str) -> str:
    """'+447700900123' -> '+4477••••••23': enough to tell numbers apart in a list."""
    if len(number) <= 7:
        return "•" * len(number)
    return number[:5] + "•" * (len(number) - 7) + number[-2:]
