"""The `paymentData` VCC gets: non-sensitive pre-fill, our own field names mapped to the keys
the flow's gateway expects ([decided] VCC's example keys by default; a flow may remap them)."""

from collections.abc import Mapping

DEFAULT_PAYMENT_DATA_KEYS: dict[str, str] = {
    "first_name": "FirstName",
    "last_name": "Surname",
    "email": "Email",
    "line1": "Street1",
    "city": "City",
    "state": "State",
    "postcode": "Postcode",
    "country": "Country",
    "amount": "Amount",
    "currency": "Currency",
    "reference": "MerchantReferenceCode",
    # [doc] pay-by-link only: the mobile number the provider texts the link to, in E.164.
    "mobile": "CustomerPhoneNumber",
}


def default_payment_data_keys() -> dict[str, str]:
    return dict(DEFAULT_PAYMENT_DATA_KEYS)


def payment_data(values: Mapping[str, str], keys: Mapping[str, str] | None) -> dict[str, str]:
    """`values` (by our field names) under the keys a flow wants; empty values left out."""
    table = {**DEFAULT_PAYMENT_DATA_KEYS, **(keys or {})}
    return {table[name]: value for name, value in values.items() if value and name in table}


def keys_problem(keys: object) -> str:
    """What is wrong with a flow's key table, or "" when it can be used."""
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items()
    ):
        return "Give an object of our field name -> paymentData key."
    unknown = set(keys) - set(DEFAULT_PAYMENT_DATA_KEYS)
    if unknown:
        return (
            f"Unknown field(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(DEFAULT_PAYMENT_DATA_KEYS)}."
        )
    return ""
