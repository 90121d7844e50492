"""The sandbox's webhook sender: VCC's POST of a finished session to our webhook endpoint.

Like VCC, it first obtains a bearer token from our token URL with the client credentials we
gave (settings.WEBHOOK_CLIENT_ID / WEBHOOK_CLIENT_SECRET), then POSTs the GET body, and retries
with backoff until it gets a 200 or the give-up time has passed (VCC: 12 hours).

Deliveries are rows (models.WebhookDelivery), so every web process may send them: a daemon
thread, started lazily when a session finishes or any sandbox call arrives, claims due
deliveries with a conditional UPDATE (one process sends each attempt) and stops when nothing
is pending.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connections
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from payments.vcc.sandbox.models import Knobs, WebhookDelivery

log = logging.getLogger("payments.vcc.sandbox")

WEBHOOK_PATH = "/payments/webhook/vcc"
WEBHOOK_TOKEN_PATH = "/payments/webhook/token"
TIMEOUT = (3.05, 10.0)
# A claimed delivery is someone else's for this long (longer than one attempt can take).
CLAIM_SECONDS = 60
# The longest the thread sleeps before looking for due work again.
IDLE_WAIT_SECONDS = 0.5
# Backoff doubles from the first retry interval up to this many times it.
MAX_BACKOFF_FACTOR = 16


class WebhookTokenError(Exception):
    """Our webhook token endpoint did not give the sandbox a token."""


class Dispatcher:
    """One per process: the thread that sends due webhook deliveries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._token: tuple[str, float] | None = None

    def ensure_running(self) -> None:
        """Start the thread if it is not running; wake it if it is."""
        with self._lock:
            self._wake.set()
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name="vcc-sandbox-webhooks", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the thread (tests, between cases) and wait for it."""
        with self._lock:
            thread = self._thread
            self._stopping.set()
            self._wake.set()
        if thread is not None:
            thread.join(timeout)
        self._token = None

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                wait = self.deliver_due()
                connections.close_all()
                with self._lock:
                    if wait is None and not self._wake.is_set():
                        self._thread = None
                        return
                self._wake.wait(min(wait if wait is not None else 0, IDLE_WAIT_SECONDS))
        except Exception:
            log.exception("sandbox webhook dispatcher stopped")
            with self._lock:
                self._thread = None
        finally:
            connections.close_all()

    def deliver_due(self) -> float | None:
        """Send every due delivery this process can claim; seconds until the next one is
        due, or None when nothing is pending."""
        knobs = Knobs.current()
        if knobs.webhooks:
            now = timezone.now()
            due = self._due(now).values_list("pk", flat=True)[:20]
            for pk in list(due):
                if (
                    self._due(now)
                    .filter(pk=pk)
                    .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
                ):
                    self._attempt(pk, knobs)
                if self._stopping.is_set():
                    break
        pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        if not knobs.webhooks:
            return IDLE_WAIT_SECONDS if pending.exists() else None
        next_at = pending.aggregate(next_at=Min("next_attempt_at"))["next_at"]
        if next_at is None:
            return None
        return max(0.0, (next_at - timezone.now()).total_seconds())

    @staticmethod
    def _due(now: datetime) -> QuerySet[WebhookDelivery]:
        return WebhookDelivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
        )

    def _attempt(self, pk: int, knobs: Knobs) -> None:
        delivery = WebhookDelivery.objects.get(pk=pk)
        try:
            response = requests.post(
                settings.SITE_URL + WEBHOOK_PATH,
                json=delivery.body,
                headers={"Authorization": f"Bearer {self._bearer()}"},
                timeout=TIMEOUT,
            )
            outcome = str(response.status_code)
            if response.status_code == 401:
                self._token = None
        except (requests.RequestException, WebhookTokenError) as error:
            outcome = str(error)[:100] if isinstance(error, WebhookTokenError) else "unreachable"
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status = outcome
        delivery.claimed_until = None
        if outcome == "200":
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
        else:
            first = knobs.webhook_retry_seconds
            delay = min(first * 2 ** (delivery.attempts - 1), first * MAX_BACKOFF_FACTOR)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            given = (delivery.next_attempt_at - delivery.created_at).total_seconds()
            if given > knobs.webhook_give_up_seconds:
                delivery.status = WebhookDelivery.Status.GAVE_UP
        delivery.save()
        log.info(
            "sandbox_webhook session=%s attempt=%s status=%s",
            delivery.session_id,
            delivery.attempts,
            outcome,
        )

    def _bearer(self) -> str:
        """A token from our webhook token endpoint, reused until shortly before it expires."""
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        try:
            response = requests.post(
                settings.SITE_URL + WEBHOOK_TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.WEBHOOK_CLIENT_ID,
                    "client_secret": settings.WEBHOOK_CLIENT_SECRET,
                },
                timeout=TIMEOUT,
            )
        except requests.RequestException:
            raise WebhookTokenError("token endpoint unreachable") from None
        if response.status_code != 200:
            raise WebhookTokenError(f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
            access_token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise WebhookTokenError("token endpoint answered without a token") from None
        self._token = (access_token, time.monotonic() + max(expires_in - 30, expires_in / 2))
        return access_token


dispatcher = Dispatcher()
