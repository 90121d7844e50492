"""Every way a VCC call can fail, as typed errors carrying a message a person can act on.

Messages never contain secrets, provider tokens or response bodies with personal data.
`VccUnavailable` (and its `VccRateLimited`) is the one "try again later"; `VccOutcomeUncertain`
is "it may have happened: never retry blindly"; every other error is "it will not work as it
is".
"""


class VccError(Exception):
    """Base of all VCC failures. `str(error)` is the actionable message."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class VccCredentialsError(VccError):
    """Our API client id/secret were refused (invalid_client): an administrator must fix them."""


class VccUnknownConfigurationError(VccError):
    """The accountConfigurationId does not exist on the account: fix the payment flow."""


class VccProviderCredentialsError(VccError):
    """The PCI provider refused the account's credentials or permissions: a Vonage-side fix."""


class VccSessionNotFound(VccError):
    """The session is unknown or its result was purged (VCC keeps results 15 minutes)."""


class VccRejectedError(VccError):
    """VCC refused the request for another reason (a 4xx we do not know more about)."""


class VccUnavailable(VccError):
    """VCC could not be reached or answered with a server error; trying later may work."""


class VccRateLimited(VccUnavailable):
    """VCC answered 429; `retry_after` is the number of seconds it asked us to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class VccOutcomeUncertain(VccError):
    """A session request may have reached VCC but no answer came back (read timeout after
    sending). It is never retried blindly: VCC has no idempotency key."""


class VccBadResponse(VccError):
    """VCC answered something we cannot read (malformed JSON, missing fields)."""
