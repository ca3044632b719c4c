"""The budget for a server that cannot be reached, with a fake clock, and its notice line."""

import asyncio
import io
import socket

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from rich.console import Console
from rich.text import Text

from tuskit_cli import _console
from tuskit_cli._reach import Reachability, unreachable
from tuskit_client import ResponseError, TransportError

KEY = ConnectionKey("127.0.0.1", 1080, False, True, None, None, None)


def refused() -> TransportError:
    error = TransportError("POST http://127.0.0.1:1080/files/ failed")
    error.__cause__ = aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "x"))
    return error


def busy() -> ResponseError:
    return ResponseError("503", status=503, headers={}, method="PATCH", url="http://h/f/1")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_unreachable_names_host_port_and_reason_but_not_tls_failures() -> None:
    assert unreachable(refused()) == "127.0.0.1:1080: connection refused"
    assert unreachable(busy()) is None
    assert unreachable(TransportError("PATCH stalled")) is None
    tls = aiohttp.ClientSSLError(KEY, OSError(1, "certificate verify failed"))
    assert unreachable(tls) is None
    dns = aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(-2, "Name or service not known"))
    assert unreachable(dns) == "127.0.0.1:1080: name or service not known"


def test_refused_connections_are_retried_within_the_budget_only() -> None:
    clock, shown = Clock(), list[str | None]()
    reach = Reachability(shown.append, budget=10, clock=clock)
    assert reach.should_retry(refused(), 1) is None  # the client's own policy decides
    clock.now += 6
    assert reach.should_retry(refused(), 2) is None
    assert shown == [
        "cannot connect to 127.0.0.1:1080: connection refused; retrying, 10 s left",
        "cannot connect to 127.0.0.1:1080: connection refused; retrying, 4 s left",
    ]
    clock.now += 4
    assert reach.should_retry(refused(), 3) is False
    assert shown[-1] is None  # the line goes before the final error line
    assert reach.note(refused()) == " (retried for 10 s)"
    assert reach.note(busy()) == ""


def test_an_answer_from_the_server_starts_a_new_budget() -> None:
    clock = Clock()
    reach = Reachability(budget=10, clock=clock)
    reach.should_retry(refused(), 1)
    clock.now += 9
    assert reach.should_retry(busy(), 2) is None  # it answered: it is back
    assert reach.left() == 10
    assert reach.should_retry(refused(), 3) is None
    clock.now += 9
    reach.reached()  # bytes went out
    assert reach.should_retry(refused(), 4) is None
    assert reach.note(refused()) == ""


def test_backoff_sleeps_are_cut_to_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    clock = Clock()
    reach = Reachability(budget=10, clock=clock)
    asyncio.run(reach.sleep(30))  # the server answers: the backoff as the client chose it
    reach.should_retry(refused(), 1)
    clock.now += 7
    asyncio.run(reach.sleep(30))
    assert slept == [30, 3]


def test_the_notice_is_one_line_below_the_bars_and_gone_at_the_end() -> None:
    screen = io.StringIO()
    bars = _console.Bars(console=Console(file=screen, force_terminal=True, width=40))
    notice = "cannot connect to 127.0.0.1:1080: connection refused; retrying, 9 s left"
    with bars:
        bars.add_task("a.bin", total=10)
        bars.show(notice)
        last = list(bars.get_renderables())[-1]
        assert isinstance(last, Text)
        assert (last.plain, last.no_wrap) == (notice, True)
    assert bars.notice is None  # the final picture keeps the bars only
    assert not any(isinstance(r, Text) for r in bars.get_renderables())


def test_status_line_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(_console, "stderr", Console(file=screen, force_terminal=True))
    with _console.status_line(True) as show:
        show("waiting, 9 s left")
        show("waiting, 5 s left")
    assert "waiting, 5 s left" in screen.getvalue()
    for terminal, enabled in ((False, True), (True, False)):
        other = io.StringIO()
        monkeypatch.setattr(_console, "stderr", Console(file=other, force_terminal=terminal))
        with _console.status_line(enabled) as show:
            show("waiting, 9 s left")
        assert other.getvalue() == ""


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def connect() -> BaseException:
        async with aiohttp.ClientSession() as session:
            try:
                await session.get(f"http://127.0.0.1:{port}/")
            except aiohttp.ClientError as exc:
                return exc
        raise AssertionError("connected to a closed port")

    assert unreachable(asyncio.run(connect())) == f"127.0.0.1:{port}: connection refused"
