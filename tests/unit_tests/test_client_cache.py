"""The process-wide client cache: one client per configuration, never one from another process."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference, _clients


def test_a_fork_the_at_fork_hook_missed_still_gets_clients_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = ChatWandbInference(api_key=SecretStr("k"))._client_config()
    parents = _clients.sync_client(config)
    assert _clients.sync_client(config) is parents  # cached
    # As in a child forked behind os.register_at_fork's back: the pid no longer matches.
    monkeypatch.setattr(_clients, "_pid", -1)
    childs = _clients.sync_client(config)
    assert childs is not parents
    assert _clients._pid == os.getpid()
    assert _clients.sync_client(config) is childs


def test_at_exit_our_clients_are_closed_and_a_users_own_is_left_open() -> None:
    import httpx2

    from langchain_wandb._clients import ClientConfig, _close_sync_clients, sync_client

    own = httpx2.Client()
    ours = sync_client(ClientConfig(api_key="k", base_url="https://x.test/v1", project=None))
    theirs = sync_client(
        ClientConfig(api_key="k", base_url="https://y.test/v1", project=None, http_client=own)
    )
    _close_sync_clients()
    assert ours.is_closed()
    assert not theirs.is_closed()  # the user's client: theirs to close (it may be shared)
    assert not own.is_closed
    assert not _clients._sync_clients
    own.close()
