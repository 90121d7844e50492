"""The agents of the chaos benchmark (tests/bench/chaos.py): each desk is a thread with an HTTP
session of its own, signed in as its agent, talking to the real gunicorn. It starts its share
of the payments (the order screen, then "Take payment" as the browser posts it) spread over the
start phase, and polls the status fragment of its latest payment every second, as htmx does,
until told to stop. The fragment's time of every poll is kept for the p95."""

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

STATUS_LINK = re.compile(r"/desk/payments/(\d+)/status/")
POLL_SECONDS = 1.0
TIMEOUT = 30


@dataclass
class DeskFigures:
    """What all the desks saw, shared between their threads (under `lock`)."""

    started: list[int] = field(default_factory=list)
    start_failures: dict[str, int] = field(default_factory=dict)
    fragment_ms: list[float] = field(default_factory=list)
    poll_errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, counts: dict[str, int], reason: str) -> None:
        with self.lock:
            counts[reason] = counts.get(reason, 0) + 1


def session_cookie(user: Any) -> str:
    """A signed-in session for `user` in the session store, as the sign-in page leaves it."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


class Desk(threading.Thread):
    def __init__(
        self,
        *,
        web_url: str,
        cookie: str,
        orders: list[int],
        flow_id: int,
        start_window: float,
        figures: DeskFigures,
        stop: threading.Event,
    ) -> None:
        super().__init__(daemon=True)
        self.web_url = web_url
        self.http = requests.Session()
        self.http.cookies.set("sessionid", cookie)
        self.orders = orders
        self.flow_id = flow_id
        self.start_window = start_window
        self.figures = figures
        self.stop_event = stop
        self.current: int | None = None

    def run(self) -> None:
        began = time.monotonic()
        gap = self.start_window / max(1, len(self.orders))
        pending = list(self.orders)
        while not self.stop_event.is_set():
            if pending and time.monotonic() >= began + gap * (len(self.orders) - len(pending)):
                self.start_payment(pending.pop(0))
            elif self.current is not None:
                self.poll(self.current)
            self.stop_event.wait(POLL_SECONDS)
        self.http.close()

    def start_payment(self, order_id: int) -> None:
        base = f"{self.web_url}/desk/orders/{order_id}/"
        try:
            self.http.get(base, timeout=TIMEOUT).raise_for_status()
            answer = self.http.post(
                base + "start/",
                data={"flow": str(self.flow_id)},
                headers={"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": base},
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            self.figures.count(self.figures.start_failures, type(error).__name__)
            return
        found = STATUS_LINK.search(answer.text) if answer.ok else None
        if found is None:
            self.figures.count(self.figures.start_failures, f"HTTP {answer.status_code}, no status")
            return
        self.current = int(found.group(1))
        with self.figures.lock:
            self.figures.started.append(self.current)

    def poll(self, payment_id: int) -> None:
        url = f"{self.web_url}/desk/payments/{payment_id}/status/?seen=in_progress"
        began = time.perf_counter()
        try:
            answer = self.http.get(url, timeout=TIMEOUT)
        except requests.RequestException as error:
            self.figures.count(self.figures.poll_errors, type(error).__name__)
            return
        if answer.status_code >= 400:
            self.figures.count(self.figures.poll_errors, f"HTTP {answer.status_code}")
            return
        with self.figures.lock:
            self.figures.fragment_ms.append((time.perf_counter() - began) * 1000)


def open_desks(
    *,
    web_url: str,
    agents: list[Any],
    orders: list[int],
    flow_id: int,
    start_window: float,
) -> tuple[list[Desk], DeskFigures, threading.Event]:
    """Start one desk per agent, the orders dealt out between them in turn."""
    figures, stop = DeskFigures(), threading.Event()
    desks = [
        Desk(
            web_url=web_url,
            cookie=session_cookie(agent),
            orders=orders[i :: len(agents)],
            flow_id=flow_id,
            start_window=start_window,
            figures=figures,
            stop=stop,
        )
        for i, agent in enumerate(agents)
    ]
    for desk in desks:
        desk.start()
    return desks, figures, stop
