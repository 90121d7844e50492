"""Removing card data from text we keep (the raw webhook body) before it is stored.

Works on the text itself, not on parsed JSON, so a malformed body is cleaned as well as a good
one, and everything that is not card data stays exactly as it was received.
"""

import re

from payments.vcc.parsing import is_card_data_key

REDACTED = "[REDACTED]"

# Runs of digits that may be separated by single spaces or dashes ("4111 1111 1111 1111"),
# and GUIDs, matched first so their all-digit groups are never taken for a card number.
_GUID_OR_DIGIT_RUN = re.compile(
    r"(?P<guid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<run>(?<![0-9])[0-9](?:[ -]?[0-9])*(?![0-9]))"
)
# A JSON member `"key": value` whose value is a string, number or literal.
_JSON_MEMBER = re.compile(
    r'"(?P<key>(?:[^"\\]|\\.){1,64})"(?P<sep>\s*:\s*)'
    r'(?P<value>"(?:[^"\\]|\\.)*"?|[^\s,}\]]+)'
)
# A form or query member `key=value`.
_FORM_MEMBER = re.compile(r"(?P<key>(?<![\w.\-\[\]])[A-Za-z_][\w.\-\[\]]{0,63})=(?P<value>[^&\s]*)")
CARD_NUMBER_LENGTHS = range(13, 20)


def luhn_valid(digits: str) -> bool:
    """The Luhn check every card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _holds_card_number(run: str) -> bool:
    """Whether a run of digit groups holds a card number: 13-19 digits passing Luhn, made of
    whole groups (so a number written next to a security code or a year is still found)."""
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


def _redact_number(match: re.Match[str]) -> str:
    run = match.group("run")
    return REDACTED if run and _holds_card_number(run) else match.group()


def _redact_json_member(match: re.Match[str]) -> str:
    if not is_card_data_key(match.group("key")):
        return match.group()
    return f'"{match.group("key")}"{match.group("sep")}"{REDACTED}"'


def _redact_form_member(match: re.Match[str]) -> str:
    if not is_card_data_key(match.group("key")):
        return match.group()
    return f"{match.group('key')}={REDACTED}"


def redact_card_data(text: str) -> str:
    """`text` with card numbers (13-19 digits passing Luhn, spaced or not) and the values of
    card-data keys (card number, security code, expiry) replaced by [REDACTED]."""
    text = _JSON_MEMBER.sub(_redact_json_member, text)
    text = _FORM_MEMBER.sub(_redact_form_member, text)
    return _GUID_OR_DIGIT_RUN.sub(_redact_number, text)
