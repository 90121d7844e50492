"""The VCC Payment API client: OAuth token shared by every process, the three calls, retries
where they are safe, a shared circuit breaker, and typed errors a person can act on.

Nothing here logs or raises with a secret, a provider token or a response body.
"""

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.cache import cache

from agentdesk.shared import metrics
from agentdesk.shared.breaker import CircuitBreaker
from payments.vcc import parsing
from payments.vcc.accounts import VccAccount, env_key, get_account
from payments.vcc.errors import (
    VccBadResponse,
    VccCredentialsError,
    VccError,
    VccOutcomeUncertain,
    VccProviderCredentialsError,
    VccRateLimited,
    VccRejectedError,
    VccSessionNotFound,
    VccUnavailable,
    VccUnknownConfigurationError,
)
from payments.vcc.http import (
    KeepAliveAdapter,
    RetryPolicy,
    never_connected,
    path_shape,
    request_reconnecting,
)
from payments.vcc.types import NewSession, SessionStatus

log = logging.getLogger("payments.vcc")

SCOPE = "globalpci"
SESSION_PATH = "/v1/session"
DIGITAL_SESSION_PATH = "/v1/digitalsession"
# [doc] How long the caller may pay with the link VCC texts for a digital session.
DIGITAL_LINK_LIFETIME = timedelta(hours=72)


# How long a process trusts its last look at the shared token (a poller makes hundreds of
# calls a second, and each look is a cache round trip).
SHARED_STATE_RECHECK_SECONDS = 1.0


# How long a failed token fetch is reported by the readiness probe when nothing has needed a
# token since (a success replaces it at once).
TOKEN_FAILURE_REMEMBERED = 300


def vcc_breaker(*, threshold: int = 5, open_seconds: float = 15.0) -> CircuitBreaker:
    """The breaker of VCC's accounts (one key per account), shared by every process."""
    return CircuitBreaker(
        "vcc",
        threshold=threshold,
        open_seconds=open_seconds,
        recheck_seconds=SHARED_STATE_RECHECK_SECONDS,
    )


class VccClient:
    """One VCC account's client. Safe to share between threads of a process."""

    def __init__(
        self,
        account: VccAccount,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.account = account
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or vcc_breaker()
        self.timeout = (settings.VCC_CONNECT_TIMEOUT, settings.VCC_READ_TIMEOUT)
        self._http = requests.Session()
        # A keep-alive connection for each thread of the batch poller reading at once.
        pool_size = max(32, settings.PAYMENT_POLL_THREADS)
        adapter = KeepAliveAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)
        # Keyed by URL, client id and a keyed digest of the secret, so changed credentials (a
        # new secret included) never reuse an old token; the digest cannot be reversed offline.
        fingerprint = hmac.new(
            settings.SECRET_KEY.encode(),
            f"{account.auth_url}\0{account.client_id}\0{account.client_secret}".encode(),
            hashlib.sha256,
        ).hexdigest()
        self._token_key = f"vcc:token:{account.name}:{fingerprint[:16]}"
        # The last token fetch's outcome: "" when it succeeded, else its error's message and
        # when (forgotten after a while: nothing may need a token to try again).
        self._token_outcome_key = self._token_key + ":last-fetch"
        # Threads of this process queue here; processes meet at the lock in the cache.
        self._token_lock = threading.Lock()
        # The shared token as this process last saw it, and until when it trusts that look.
        self._seen_token: tuple[str, float] | None = None

    # --- The Payment API ----------------------------------------------------------------

    def create_session(
        self,
        *,
        agent_id: str,
        payment_data: Mapping[str, str],
        account_configuration_id: int | None = None,
        skip_call_transfer: bool = False,
    ) -> NewSession:
        """`POST /v1/session`: open an agent-assist session on the agent's live call."""
        body: dict[str, Any] = {"agentId": agent_id, "paymentData": dict(payment_data)}
        if account_configuration_id is not None:
            body["accountConfigurationId"] = account_configuration_id
        if skip_call_transfer:
            body["skipCallTransfer"] = True
        return self._open_session(SESSION_PATH, body)

    def create_digital_session(
        self,
        *,
        agent_id: str,
        payment_data: Mapping[str, str],
        account_configuration_id: int | None = None,
    ) -> NewSession:
        """`POST /v1/digitalsession`: pay-by-link; paymentData carries CustomerPhoneNumber."""
        body: dict[str, Any] = {"agentId": agent_id, "paymentData": dict(payment_data)}
        if account_configuration_id is not None:
            body["accountConfigurationId"] = account_configuration_id
        return self._open_session(DIGITAL_SESSION_PATH, body)

    def get_session(
        self, session_guid: str, *, currency: str = "", retry: bool = True
    ) -> SessionStatus:
        """`GET /v1/session/{guid}`; `currency` converts the result's minor units when the
        result does not echo its own currency. `retry=False` makes one attempt (a poller
        whose schedule is its retry)."""
        path = f"{SESSION_PATH}/{quote(session_guid, safe='')}"
        body = self._call("GET", path, retry=retry)
        return parsing.session_status(body, currency=currency)

    # --- The token ----------------------------------------------------------------------

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token, shared by every process through the cache. `stale` is a
        token VCC just refused: it is replaced rather than returned again."""
        seen = self._seen_token
        if seen is not None and seen[0] != stale and seen[1] > time.monotonic():
            return seen[0]
        cached = cache.get(self._token_key)
        if cached and cached != stale:
            token = str(cached)
        else:
            with self._token_lock:
                token = self._shared_token(stale)
        self._seen_token = (token, time.monotonic() + SHARED_STATE_RECHECK_SECONDS)
        return token

    def token_health(self) -> tuple[bool, str]:
        """Whether a token is obtainable, from what every process already knows (the shared
        token, the last fetch's outcome): one cache round trip, never a token request."""
        known = cache.get_many([self._token_key, self._token_outcome_key])
        if known.get(self._token_key):
            return True, "token cached"
        failure = known.get(self._token_outcome_key)
        if isinstance(failure, tuple):
            at, message = failure
            return False, f"last token fetch failed {time.time() - at:.0f}s ago: {message}"
        if self._token_outcome_key in known:
            return True, "last token fetch succeeded"
        return True, "no token fetched yet"

    def close(self) -> None:
        """Close the idle HTTP connections this client keeps to VCC (they reopen on demand)."""
        self._http.close()

    def forget_token(self) -> None:
        """Drop the shared token (every process fetches a new one on its next call)."""
        self._seen_token = None
        cache.delete(self._token_key)

    def _shared_token(self, stale: str | None) -> str:
        lock_key = self._token_key + ":lock"
        deadline = time.monotonic() + settings.VCC_CONNECT_TIMEOUT + settings.VCC_READ_TIMEOUT
        while not (locked := cache.add(lock_key, 1, timeout=30)):
            # Another process is fetching: wait for its token rather than stampede VCC.
            time.sleep(0.05)
            cached = cache.get(self._token_key)
            if cached and cached != stale:
                return str(cached)
            if time.monotonic() > deadline:
                break  # its holder seems stuck: fetch ourselves, leaving its lock alone
        try:
            cached = cache.get(self._token_key)
            if cached and cached != stale:
                return str(cached)
            try:
                access_token, expires_in = self._fetch_token()
            except VccError as error:
                metrics.vcc_token_fetches.labels(account=self.account.name, outcome="failed").inc()
                failure = (time.time(), str(error))
                cache.set(self._token_outcome_key, failure, timeout=TOKEN_FAILURE_REMEMBERED)
                raise
            metrics.vcc_token_fetches.labels(account=self.account.name, outcome="ok").inc()
            cache.set(self._token_outcome_key, "", timeout=None)
            # Refresh a little before VCC's expiry: 10% of the lifetime, at least 30 s.
            margin = max(30.0, expires_in * 0.1)
            cache.set(self._token_key, access_token, timeout=max(1, int(expires_in - margin)))
            return access_token
        finally:
            if locked:
                cache.delete(lock_key)

    def _fetch_token(self) -> tuple[str, float]:
        response = self._send_retrying(
            "POST",
            self.account.auth_url,
            attempts=self.retry.attempts,
            what="token request",
            data={"grant_type": "client_credentials", "scope": SCOPE},
            auth=(self.account.client_id, self.account.client_secret),
        )
        if response.status_code in (400, 401, 403):
            raise self._token_refused(response)
        if response.status_code != 200:
            raise VccRejectedError(
                f"VCC's token endpoint answered HTTP {response.status_code} for account "
                f"'{self.account.name}'.",
                status=response.status_code,
            )
        return parsing.token(parsing.json_object(response))

    def _token_refused(self, response: requests.Response) -> VccError:
        code = parsing.error_code(response)
        name = self.account.name
        if code == "invalid_client" or response.status_code == 401:
            return VccCredentialsError(
                f"VCC refused the API client credentials of account '{name}' (invalid_client): "
                f"check {env_key(name, 'CLIENT_ID')} and {env_key(name, 'CLIENT_SECRET')}.",
                status=response.status_code,
            )
        if code == "invalid_scope":
            return VccCredentialsError(
                f"The API client of account '{name}' may not use the Payment API "
                f"(scope {SCOPE}): ask Vonage to grant it.",
                status=response.status_code,
            )
        return VccRejectedError(
            f"VCC's token endpoint refused account '{name}' ({code or response.status_code}).",
            status=response.status_code,
        )

    # --- HTTP -----------------------------------------------------------------------------

    def _open_session(self, path: str, body: dict[str, Any]) -> NewSession:
        """POST a new session, never retried: VCC has no idempotency key."""
        try:
            return parsing.new_session(self._call("POST", path, json_body=body, retry=False))
        except VccBadResponse:
            # VCC said 200 but we cannot read what: the session may exist. Not retryable.
            raise VccOutcomeUncertain(
                "VCC answered but its answer could not be read: the payment session may or "
                "may not have been created. Check with the caller before starting again."
            ) from None

    def _call(
        self, method: str, path: str, *, json_body: dict[str, Any] | None = None, retry: bool
    ) -> dict[str, Any]:
        """One Payment API call with the bearer token; one token refresh on 401; retries
        (GET only) on connection errors, 429 and 5xx."""
        token = self.token()
        for refreshed in (False, True):
            response = self._send_retrying(
                method,
                self.account.api_url + path,
                attempts=self.retry.attempts if retry else 1,
                what=f"{method} {path_shape(path)}",
                json=json_body,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                may_reach=method != "GET",
            )
            if response.status_code != 401 or refreshed:
                break
            token = self.token(stale=token)
        if response.status_code >= 400:
            raise self._api_refused(response, method, path)
        return parsing.json_object(response)

    def _send_retrying(
        self, method: str, url: str, *, attempts: int, what: str, **kwargs: Any
    ) -> requests.Response:
        """`_send`, tried up to `attempts` times while VCC cannot be reached or answers 429 or
        5xx (backing off, honouring Retry-After); any other answer is returned."""
        for attempt in range(attempts):
            last = attempt + 1 >= attempts
            try:
                response = self._send(method, url, **kwargs)
            except VccUnavailable:
                if last:
                    raise
                time.sleep(self.retry.delay(attempt))
                continue
            if response.status_code != 429 and response.status_code < 500:
                return response
            error = self._server_error(response, what)
            if last or not self._wait_before_retry(error, attempt):
                raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, method: str, url: str, *, may_reach: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send one request, log it, feed the breaker. Connection failures become
        VccUnavailable, or VccOutcomeUncertain when a non-retryable request may have arrived."""
        opened = self.breaker.opened(self.account.name)
        if opened is not None:
            raise VccUnavailable(
                f"VCC (account '{self.account.name}') is not answering; calls are paused for "
                f"{opened.seconds_left:.0f} more seconds. Try again shortly."
            )
        started = time.monotonic()
        status: int | str = "-"
        try:
            response = request_reconnecting(
                self._http, method, url, may_reach=may_reach, timeout=self.timeout, **kwargs
            )
            status = response.status_code
        except requests.Timeout as error:
            status = "timeout"
            self.breaker.failed(self.account.name)
            if may_reach and not isinstance(error, requests.ConnectTimeout):
                raise VccOutcomeUncertain(
                    "VCC did not answer in time: the payment session may or may not have been "
                    "created. Check with the caller before starting again.",
                ) from None
            raise VccUnavailable(
                f"VCC (account '{self.account.name}') did not answer in time."
            ) from None
        except requests.ConnectionError as error:
            status = "unreachable"
            self.breaker.failed(self.account.name)
            if may_reach and not never_connected(error):
                status = "dropped"
                raise VccOutcomeUncertain(
                    "VCC dropped the connection before answering: the payment session may or "
                    "may not have been created. Check with the caller before starting again.",
                ) from None
            raise VccUnavailable(
                f"VCC (account '{self.account.name}') cannot be reached. Try again shortly."
            ) from None
        finally:
            seconds = time.monotonic() - started
            log.info(
                "vcc_call account=%s method=%s path=%s status=%s duration_ms=%.0f",
                self.account.name,
                method,
                path_shape(url),
                status,
                seconds * 1000,
            )
            metrics.count_vcc_call(
                self.account.name, method, url, self.account.api_url, status, seconds
            )
        if response.status_code >= 500:
            self.breaker.failed(self.account.name)
        elif response.status_code != 429:  # slowed down is not "answering well" either
            self.breaker.succeeded(self.account.name)
        return response

    def _server_error(self, response: requests.Response, what: str) -> VccUnavailable:
        if response.status_code == 429:
            return VccRateLimited(
                f"VCC asked us to slow down ({what}); trying again shortly.",
                retry_after=parsing.retry_after(response),
            )
        return VccUnavailable(
            f"VCC had a problem answering ({what}: HTTP {response.status_code}). "
            "Try again shortly.",
            status=response.status_code,
        )

    def _wait_before_retry(self, error: VccUnavailable, attempt: int) -> bool:
        """Sleep before the next try; False when VCC asked for a longer pause than we wait."""
        delay = self.retry.delay(attempt)
        if isinstance(error, VccRateLimited) and error.retry_after is not None:
            if error.retry_after > self.retry.max_retry_after:
                return False
            delay = max(delay, error.retry_after)
        time.sleep(delay)
        return True

    def _api_refused(self, response: requests.Response, method: str, path: str) -> VccError:
        status = response.status_code
        text = parsing.error_text(response)
        name = self.account.name
        if status == 404 and method == "GET":
            return VccSessionNotFound(
                "VCC no longer has this session: its result is kept only 15 minutes.",
                status=status,
            )
        if "account configuration does not exist" in text.lower():
            return VccUnknownConfigurationError(
                f"VCC account '{name}' has no such accountConfigurationId: an administrator "
                "must correct the payment flow.",
                status=status,
            )
        if "invalid_client_key" in text:
            return VccProviderCredentialsError(
                f"The PCI provider refused VCC account '{name}''s credentials "
                "(invalid_client_key): Vonage must fix the account's PCI configuration.",
                status=status,
            )
        if "invalid_client" in text:
            return VccProviderCredentialsError(
                f"The PCI provider refused this payment flow for VCC account '{name}' "
                "(invalid_client): Vonage must grant the account access to it.",
                status=status,
            )
        if status == 401:
            return VccCredentialsError(
                f"VCC refused a fresh token for account '{name}': check its API client.",
                status=status,
            )
        return VccRejectedError(
            f"VCC refused the request (HTTP {status}){': ' + text if text else ''}.",
            status=status,
        )


_clients: dict[str, VccClient] = {}
_clients_lock = threading.Lock()


def client_for(account_name: str) -> VccClient:
    """The shared client of a configured account (AccountConfigError if it is broken)."""
    account = get_account(account_name)
    with _clients_lock:
        client = _clients.get(account_name)
        if client is None or client.account != account:
            client = _clients[account_name] = VccClient(account)
        return client
