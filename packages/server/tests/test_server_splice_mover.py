"""The kernel copy on its own (``SocketToFile`` over a loopback socket pair): the bytes land
at the offset after the head, later bytes stay in the socket, and each ending (short, reset,
idle, stopped, splice refused, a failing file) keeps every byte received."""

import errno
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from splice_testing import MiB, _data

from tuskit_server._kernel_copy import splice as _splice
from tuskit_server._kernel_copy.splice import Ending, SocketToFile

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice is Linux-only")


def _pair() -> tuple[socket.socket, socket.socket]:
    """A connected loopback TCP pair; the receiving end is non-blocking like aiohttp's."""
    listener = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    listener.close()
    receiver.setblocking(False)
    return sender, receiver


def _send_in_thread(sock: socket.socket, data: bytes, *, close: bool = True) -> threading.Thread:
    def send() -> None:
        sock.sendall(data)
        if close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def _mover(receiver: socket.socket, **kwargs: Any) -> SocketToFile:
    kwargs.setdefault("offset", 0)
    kwargs.setdefault("head", [])
    kwargs.setdefault("idle_timeout", 5.0)
    return SocketToFile(receiver.fileno(), **kwargs)


def test_moves_head_then_socket_bytes_at_the_offset(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.write_bytes(b"p" * 10)
    body = _data(3 * MiB + 7)
    sender, receiver = _pair()
    fd = os.open(target, os.O_WRONLY)
    try:
        thread = _send_in_thread(sender, body[100:])
        mover = _mover(receiver, offset=10, head=[body[:40], body[40:100]], count=len(body) - 100)
        assert mover.run(fd) is Ending.COMPLETE
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == len(body)
    assert target.read_bytes() == b"p" * 10 + body


def test_leaves_later_bytes_in_the_socket(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        _send_in_thread(sender, b"a" * 1000 + b"NEXT", close=False).join()
        assert _mover(receiver, count=1000).run(fd) is Ending.COMPLETE
        receiver.setblocking(True)
        assert receiver.recv(4) == b"NEXT"
    finally:
        os.close(fd)
        sender.close()
        receiver.close()


def test_short_body_ends_short_with_what_arrived(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        thread = _send_in_thread(sender, _data(MiB))
        mover = _mover(receiver, count=2 * MiB)
        assert mover.run(fd) is Ending.SHORT
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == MiB
    assert (tmp_path / "data").read_bytes() == _data(MiB)


def test_reset_ends_reset(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        sender.sendall(b"r" * 5000)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sender.close()  # linger 0: a RST
        mover = _mover(receiver, count=MiB)
        assert mover.run(fd) in (Ending.RESET, Ending.SHORT)
    finally:
        os.close(fd)
        receiver.close()
    assert (tmp_path / "data").read_bytes() == b"r" * mover.moved


def test_stall_ends_idle(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        sender.sendall(b"s" * 10)
        started = time.monotonic()
        mover = _mover(receiver, count=100, idle_timeout=0.2)
        assert mover.run(fd) is Ending.IDLE
        assert time.monotonic() - started < 3
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == 10


def test_stop_wakes_a_waiting_transfer(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        mover = _mover(receiver, count=100, idle_timeout=30)
        endings: list[Ending] = []
        thread = threading.Thread(target=lambda: endings.append(mover.run(fd)))
        thread.start()
        time.sleep(0.1)
        mover.stop()
        thread.join(3)
        assert endings == [Ending.STOPPED]
        mover.stop()  # after the end: harmless
    finally:
        os.close(fd)
        sender.close()
        receiver.close()


@pytest.mark.parametrize("refused", ["socket", "file"])
def test_copies_where_splice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    real_splice = os.splice

    def splice(src: int, dst: int, count: int, **kwargs: Any) -> int:
        if (refused == "socket" and src == receiver.fileno()) or (refused == "file" and dst == fd):
            raise OSError(errno.EINVAL, "refused")
        return real_splice(src, dst, count, **kwargs)

    monkeypatch.setattr(os, "splice", splice)
    body = _data(2 * MiB + 3)
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        thread = _send_in_thread(sender, body)
        assert _mover(receiver, count=len(body)).run(fd) is Ending.COMPLETE
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert (tmp_path / "data").read_bytes() == body


def test_a_failing_file_raises_after_keeping_what_was_written(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_RDONLY | os.O_CREAT)  # not writable
    try:
        _send_in_thread(sender, b"x" * 100).join()
        mover = _mover(receiver, count=100)
        with pytest.raises(OSError, match="Bad file descriptor"):
            mover.run(fd)
        assert mover.moved == 0
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
