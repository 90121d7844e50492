"""Removing card data from text we keep (the raw webhook body) before it is stored.

Works on the text itself, not on parsed JSON, so a malformed body is cleaned as well as a good
one, and everything that is not card data stays exactly as it was received. Key-aware: the
values of card-data keys are always removed, the values of reference keys (a gateway's
transaction id, our session GUID) are never taken for card numbers, and everything else is
searched for card numbers however they are written.
"""

import json
import re

from agentdesk.shared.cards import holds_card_number
from payments.vcc.parsing import is_card_data_key, is_reference_key

REDACTED = "[REDACTED]"

# A digit, also written as a JSON escape ("\u0034" is "4").
_DIGIT = r"(?:[0-9]|\\u003[0-9])"
# Runs of digits that may be separated by up to two spaces, dashes or dots
# ("4111 1111 1111 1111", "4111.1111.1111.1111", "4111  1111..."), and GUIDs, matched first
# so their all-digit groups are never taken for a card number.
_GUID_OR_DIGIT_RUN = re.compile(
    r"(?P<guid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    rf"|(?P<run>(?<![0-9]){_DIGIT}(?:[ .\-]{{0,2}}{_DIGIT})*(?![0-9]))"
)
# A security code written next to its name in free text ("cvv 737", "CVC: 1234").
_NAMED_CODE = re.compile(
    r"(?P<name>\b(?:cvv2?|cvc2?|cv2|cvn|cvd|csc|security\s+code|card\s+code)\b[\s:=#\"'-]{0,4})"
    r"(?P<code>[0-9]{3,4})(?![0-9])",
    re.IGNORECASE,
)
# A JSON member `"key": value` whose value is a string, number or literal (an object or array
# value is not taken: its own members are matched one by one).
_JSON_MEMBER = re.compile(
    r'"(?P<key>(?:[^"\\]|\\.){1,64})"(?P<sep>\s*:\s*)'
    r'(?P<value>"(?:[^"\\]|\\.)*"?|[^\s,{}\[\]][^\s,}\]]*)'
)
# A form or query member `key=value`.
_FORM_MEMBER = re.compile(r"(?P<key>(?<![\w.\-\[\]])[A-Za-z_][\w.\-\[\]]{0,63})=(?P<value>[^&\s]*)")


def _digits(run: str) -> str:
    """A run with its JSON escapes decoded and its separators as single spaces."""
    run = re.sub(r"\\u003([0-9])", r"\1", run)
    return re.sub(r"[ .\-]+", " ", run)


def _redact_number(match: re.Match[str]) -> str:
    run = match.group("run")
    return REDACTED if run and holds_card_number(_digits(run)) else match.group()


def _redact_form_member(match: re.Match[str]) -> str:
    key = match.group("key")
    if is_card_data_key(key):
        return f"{key}={REDACTED}"
    if is_reference_key(key):
        return match.group()
    return f"{key}={_redact_free_text(match.group('value'))}"


def _redact_free_text(text: str) -> str:
    text = _NAMED_CODE.sub(lambda m: f"{m.group('name')}{REDACTED}", text)
    return _GUID_OR_DIGIT_RUN.sub(_redact_number, text)


def _redact_plain(text: str) -> str:
    """Text outside JSON members: form members by key, the rest as free text."""
    parts, end = [], 0
    for match in _FORM_MEMBER.finditer(text):
        parts.append(_redact_free_text(text[end : match.start()]))
        parts.append(_redact_form_member(match))
        end = match.end()
    parts.append(_redact_free_text(text[end:]))
    return "".join(parts)


def _redact_value(value: str) -> str:
    """A JSON value that is neither card data nor a reference: a complete string literal is
    decoded first (so escapes and JSON nested in a string are seen) and re-encoded only when
    something was removed; anything else is searched as it stands."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        try:
            decoded = json.loads(value)
        except ValueError:
            return _redact_plain(value)
        if isinstance(decoded, str):
            cleaned = redact_card_data(decoded)
            return value if cleaned == decoded else json.dumps(cleaned)
    return _redact_plain(value)


def _redact_json_member(match: re.Match[str]) -> str:
    key, sep, value = match.group("key"), match.group("sep"), match.group("value")
    if is_card_data_key(key):
        return f'"{key}"{sep}"{REDACTED}"'
    if is_reference_key(key):
        return match.group()
    return f'"{key}"{sep}{_redact_value(value)}'


def redact_card_data(text: str) -> str:
    """`text` with card numbers (13-19 digits passing Luhn, however separated or escaped),
    security codes named in free text, and the values of card-data keys (card number,
    security code, expiry) replaced by [REDACTED]; reference keys' values kept as they are."""
    parts, end = [], 0
    for match in _JSON_MEMBER.finditer(text):
        parts.append(_redact_plain(text[end : match.start()]))
        parts.append(_redact_json_member(match))
        end = match.end()
    parts.append(_redact_plain(text[end:]))
    return "".join(parts)
