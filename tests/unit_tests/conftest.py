"""Unit tests run with the network disabled: anything that opens a socket is an integration test."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    disable_socket(allow_unix_socket=True)
