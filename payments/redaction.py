"""Removing card data from text we keep (the raw webhook body) before it is stored.

Works on the text itself, not on parsed JSON, so a malformed body is cleaned as well as a good
one, and everything that is not card data stays exactly as it was received.
"""

import re

from agentdesk.shared.cards import holds_card_number
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


def _redact_number(match: re.Match[str]) -> str:
    run = match.group("run")
    return REDACTED if run and holds_card_number(run) else match.group()


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
