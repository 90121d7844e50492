"""payments/vcc/http.py request_reconnecting, through VccClient over real HTTP: a server that
closes an idle kept-alive connection just as the client reuses it (as gunicorn does after its
keep-alive timeout, racing the next request) costs a safe call one more try on a fresh
connection, not a "VCC cannot be reached"; a session POST that may have arrived is never
sent twice."""

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from payments.vcc.accounts import VccAccount, get_account
from payments.vcc.errors import VccOutcomeUncertain
from tests.payments.vcc.conftest import MakeClient, open_session
from tests.sandbox_fixtures import Sandbox


@dataclass
class KeepAliveDropper:
    """Relays each request to the sandbox's API and keeps the connection alive, but closes
    it without answering when a second request arrives on it (the server's idle timeout
    racing the client's reuse)."""

    url: str
    upstream: str
    connections: int = 0
    requests_seen: list[str] = field(default_factory=list)


def read_request(connection: socket.socket) -> tuple[str, dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        body += connection.recv(65536)
    return line, headers, body


@pytest.fixture
def dropper(sandbox: Sandbox) -> Iterator[KeepAliveDropper]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = KeepAliveDropper(
        url=f"http://127.0.0.1:{listener.getsockname()[1]}/api",
        upstream=get_account("builtin").api_url,
    )

    def serve(connection: socket.socket) -> None:
        with connection:
            for served in range(2):
                request = read_request(connection)
                if request is None:
                    return
                line, headers, body = request
                server.requests_seen.append(line)
                if served == 1:
                    return  # closed without an answer, as an idle connection is
                method, path, _ = line.split(" ")
                answer = requests.request(
                    method,
                    server.upstream + path.removeprefix("/api"),
                    data=body,
                    headers={
                        k: v
                        for k, v in headers.items()
                        if k in ("authorization", "content-type", "accept")
                    },
                    timeout=10,
                )
                head = (
                    f"HTTP/1.1 {answer.status_code} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer.content)}\r\nConnection: keep-alive\r\n\r\n"
                )
                connection.sendall(head.encode() + answer.content)

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server
    listener.close()


def through(server: KeepAliveDropper) -> VccAccount:
    builtin = get_account("builtin")
    return VccAccount(
        "builtin", builtin.auth_url, server.url, builtin.client_id, builtin.client_secret
    )


def test_a_get_on_a_dropped_keep_alive_connection_is_sent_again_on_a_fresh_one(
    make_client: MakeClient,
    dropper: KeepAliveDropper,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guid = open_session(make_client())  # straight to the sandbox
    client = make_client(through(dropper))
    # As the batch poller reads: once, no retries (a failed read waits for the next round).
    assert client.get_session(guid, retry=False).session_guid == guid
    with caplog.at_level(logging.INFO, logger="payments.vcc.client"):
        assert client.get_session(guid, retry=False).session_guid == guid
    assert dropper.connections == 2
    assert len(dropper.requests_seen) == 3  # answered, dropped, answered again
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("vcc_reconnect") for m in messages), messages
    assert not any("status=unreachable" in m for m in messages), messages


def test_a_session_post_on_a_dropped_keep_alive_connection_is_not_sent_twice(
    make_client: MakeClient, dropper: KeepAliveDropper
) -> None:
    guid = open_session(make_client())
    client = make_client(through(dropper))
    client.get_session(guid)
    with pytest.raises(VccOutcomeUncertain, match="dropped the connection"):
        open_session(client)
    assert dropper.connections == 1
    assert [line.split(" ")[0] for line in dropper.requests_seen] == ["GET", "POST"]
