"""The agents of the chaos benchmark (tests/bench/chaos.py): each desk is a coroutine with a
keep-alive HTTP connection and a session of its own, signed in as its agent, talking to the
real gunicorn. It starts its share of the payments (the order screen, then "Take payment" as
the browser posts it) spread over the start phase, and polls the status fragment of its latest
payment as htmx does: every second, asking with the state the page shows (`seen`), taking the
new fragment's poll address when the state changes, and stopping when the server answers 286
(final). The fragment's time of every poll is kept for the p95.

All the desks share one event loop in one thread, speaking HTTP/1.1 over asyncio streams
(the standard library): 200 desks cost the machine one busy thread, not 200 threads fighting
for the interpreter lock, so the figures measure the web server rather than the load driver."""

import asyncio
import html
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

STATUS_LINK = re.compile(r'hx-get="(/desk/payments/(\d+)/status/\?seen=[a-z_]+)"')
POLL_SECONDS = 1.0
TIMEOUT = 30.0


@dataclass
class DeskFigures:
    """What all the desks saw (one event loop writes them; read once it has stopped)."""

    started: list[int] = field(default_factory=list)
    start_failures: dict[str, int] = field(default_factory=dict)
    fragment_ms: list[float] = field(default_factory=list)
    # When each of those polls began (time.monotonic()), to tell the start phase's from the rest.
    fragment_at: list[float] = field(default_factory=list)
    poll_errors: dict[str, int] = field(default_factory=dict)
    # Set when the start phase ends: a desk then starts nothing more (the orders it did not
    # start in time are not started later, when they would load the faults' phase unmeasured).
    starts_closed: threading.Event = field(default_factory=threading.Event)
    starts_in_flight: int = 0

    @staticmethod
    def count(counts: dict[str, int], reason: str) -> None:
        counts[reason] = counts.get(reason, 0) + 1


def session_cookie(user: Any) -> str:
    """A signed-in session for `user` in the session store, as the sign-in page leaves it."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


@dataclass
class Answer:
    status: int
    body: str


class Connection:
    """One keep-alive HTTP/1.1 connection with a cookie jar, reopened when the server closed
    it (gunicorn's keep-alive is two seconds; a restart cuts it)."""

    def __init__(self, web_url: str, cookies: dict[str, str]) -> None:
        parts = urlsplit(web_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies = cookies
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None, **headers: str
    ) -> Answer:
        body = urlencode(form).encode() if form is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            f"Content-Length: {len(body)}",
        ]
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(message)
                await self.writer.drain()
                return await asyncio.wait_for(self.read_answer(self.reader), TIMEOUT)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt == 2:
                    raise  # a new connection refused or cut: the server is down
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    async def read_answer(self, reader: asyncio.StreamReader) -> Answer:
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length, chunked, closing = 0, False, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                closing = True
            elif name == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, cookie_value = cookie.partition("=")
                self.cookies[key.strip()] = cookie_value.strip()
        if chunked:
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = await reader.readexactly(length)
        if closing:
            self.close()
        return Answer(status, body.decode("utf-8", "replace"))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Desk:
    def __init__(
        self,
        *,
        web_url: str,
        cookie: str,
        orders: list[int],
        flow_id: int,
        start_window: float,
        figures: DeskFigures,
        offset: float,
    ) -> None:
        self.offset = offset
        self.http = Connection(web_url, {"sessionid": cookie})
        self.orders = orders
        self.flow_id = flow_id
        self.start_window = start_window
        self.figures = figures
        self.poll_path: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        began = time.monotonic()
        gap = self.start_window / max(1, len(self.orders))
        pending = list(self.orders)
        # The desks' requests spread over the second, as agents do not click in step.
        await asyncio.sleep(self.offset)
        while not stop.is_set():
            if self.figures.starts_closed.is_set():
                pending.clear()
            if pending and time.monotonic() >= began + gap * (len(self.orders) - len(pending)):
                await self.start_payment(pending.pop(0))
            elif self.poll_path is not None:
                await self.poll()
            try:
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
        self.http.close()

    async def start_payment(self, order_id: int) -> None:
        self.figures.starts_in_flight += 1
        try:
            await self.start_one(order_id)
        finally:
            self.figures.starts_in_flight -= 1

    async def start_one(self, order_id: int) -> None:
        base = f"/desk/orders/{order_id}/"
        try:
            screen = await self.http.request("GET", base)
            if screen.status != 200:
                self.figures.count(self.figures.start_failures, f"order screen {screen.status}")
                return
            answer = await self.http.request(
                "POST",
                base + "start/",
                form={"flow": str(self.flow_id)},
                X_CSRFToken=self.http.cookies.get("csrftoken", ""),
                Referer=f"http://{self.http.host}:{self.http.port}{base}",
                HX_Request="true",
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            self.figures.count(self.figures.start_failures, type(error).__name__)
            return
        found = STATUS_LINK.search(answer.body) if answer.status < 400 else None
        if found is None:
            self.figures.count(self.figures.start_failures, f"HTTP {answer.status}, no status")
            return
        self.poll_path = html.unescape(found.group(1))
        self.figures.started.append(int(found.group(2)))

    async def poll(self) -> None:
        assert self.poll_path is not None
        began = time.perf_counter()
        try:
            answer = await self.http.request("GET", self.poll_path, HX_Request="true")
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            self.figures.count(self.figures.poll_errors, type(error).__name__)
            return
        if answer.status >= 400:
            self.figures.count(self.figures.poll_errors, f"HTTP {answer.status}")
            return
        self.figures.fragment_ms.append((time.perf_counter() - began) * 1000)
        self.figures.fragment_at.append(time.monotonic())
        if answer.status == 286:
            self.poll_path = None  # final: htmx stops polling
        elif answer.status == 200 and (found := STATUS_LINK.search(answer.body)):
            self.poll_path = html.unescape(found.group(1))  # the state moved on


class Desks(threading.Thread):
    """The event loop every desk runs on, in a thread of its own; `stop` ends it."""

    def __init__(self, desks: list[Desk], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.desks = desks
        self.stop_event = stop

    def run(self) -> None:
        asyncio.run(self.main())

    async def main(self) -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            while not self.stop_event.is_set():
                await asyncio.sleep(0.2)
            stop.set()

        await asyncio.gather(watch(), *(desk.run(stop) for desk in self.desks))


def open_desks(
    *,
    web_url: str,
    agents: list[Any],
    orders: list[int],
    flow_id: int,
    start_window: float,
) -> tuple[list[threading.Thread], DeskFigures, threading.Event]:
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
            offset=i / len(agents),
        )
        for i, agent in enumerate(agents)
    ]
    loop = Desks(desks, stop)
    loop.start()
    return [loop], figures, stop
