"""The sync cutoff: armed for one response, never acting once disarmed."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2
import pytest

from langchain_wandb._deadline import (
    Cutoff,
    _DeadlineBackend,
    bound_by_deadlines,
    request_deadline,
)


def test_a_disarmed_cutoff_never_fires() -> None:
    cutoff = Cutoff(None)
    cutoff.disarm()
    cutoff()  # a watchdog that got round to it late
    assert cutoff.fired is False
    cutoff.at(time.monotonic())  # nothing is scheduled once disarmed
    time.sleep(0.05)
    assert cutoff.fired is False


def test_an_armed_cutoff_fires_at_its_deadline() -> None:
    cutoff = Cutoff(None)
    cutoff.at(time.monotonic() + 0.01)
    deadline = time.monotonic() + 5
    while not cutoff.fired and time.monotonic() < deadline:
        time.sleep(0.005)
    assert cutoff.fired is True


class _Recorder(httpcore2.NetworkStream, httpcore2.NetworkBackend):
    """A connection (and backend) that records the timeouts it is given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        return b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        self.timeouts.append(timeout)
        return self


def test_the_default_transport_bounds_every_read_by_the_requests_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pins httpx2's internals this relies on (`Client._transport` / `_mounts`, each
    # `HTTPTransport._pool`'s backend): an httpx2 that changes them fails here, not users.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example.test")
    client = bound_by_deadlines(httpx2.Client(limits=httpx2.Limits(max_connections=3)))
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    assert len(transports) == 2  # direct, and the environment's proxy
    for transport in transports:
        assert isinstance(transport, httpx2.HTTPTransport)
        pool = transport._pool
        assert isinstance(pool, httpcore2.ConnectionPool)
        assert isinstance(pool._network_backend, _DeadlineBackend)
        assert pool._max_connections == 3
    client.close()


@pytest.mark.parametrize("timeout", [None, 30.0])
def test_reads_get_at_most_the_time_the_request_has_left(timeout: float | None) -> None:
    recorder = _Recorder()
    backend = _DeadlineBackend(recorder)
    token = request_deadline.set(time.monotonic() + 2.0)
    try:
        stream = backend.connect_tcp("example.test", 443, timeout)
        stream.read(10, timeout)
        stream.write(b"x", timeout)
    finally:
        request_deadline.reset(token)
    assert all(t is not None and 1.0 < t <= 2.0 for t in recorder.timeouts), recorder.timeouts
    # Outside a request (no deadline), timeouts pass unchanged.
    stream.read(10, timeout)
    assert recorder.timeouts[-1] == timeout


def test_a_read_after_the_deadline_is_a_read_timeout() -> None:
    stream = _DeadlineBackend(_Recorder()).connect_tcp("example.test", 443, 5.0)
    token = request_deadline.set(time.monotonic() - 0.01)
    try:
        with pytest.raises(httpcore2.ReadTimeout, match="timeout ran out"):
            stream.read(10, 5.0)
        with pytest.raises(httpcore2.WriteTimeout):
            stream.write(b"x", 5.0)
        with pytest.raises(httpcore2.ConnectTimeout):
            _DeadlineBackend(_Recorder()).connect_tcp("example.test", 443, 5.0)
    finally:
        request_deadline.reset(token)
