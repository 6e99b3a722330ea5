"""Forked workers, `asyncio.run` scripts, keys read from files, bad input: nothing crosses over.

Fork tests run in a subprocess so that pytest itself is never forked.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import traceback
from typing import Any

import openai
import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import Reply, WandbEmulator
from tests.integration_tests.raw_server import wait_until

FORK_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from langchain_wandb.testing import WandbEmulator

    with WandbEmulator() as emulator:
        llm = emulator.chat_model(max_retries=0)
        assert llm.invoke("warm up the pooled connection").content
        before = emulator.connections_accepted

        def ask(who: str, n: int) -> list[str]:
            wrong = []
            for i in range(n):
                expected = f"{who}-{i} " * 20
                reply = {"content": expected, "delay": 0.001}
                got = llm.invoke(f"{who} {i}", extra_body={"emulator_reply": reply}).content
                if got != expected:
                    wrong.append(repr(got[:40]))
            return wrong

        pid = os.fork()
        wrong = ask("child" if pid == 0 else "parent", 15)
        if pid == 0:
            os._exit(3 if wrong else 0)
        _, status = os.waitpid(pid, 0)
        print("parent wrong:", wrong)
        print("child exit:", os.waitstatus_to_exitcode(status))
        print("new connections:", emulator.connections_accepted - before)
        sys.exit(1 if wrong or os.waitstatus_to_exitcode(status) else 0)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_shares_its_parents_connection() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "new connections: 0" not in result.stdout  # the child opened its own


def test_each_asyncio_run_leaves_no_loop_and_no_socket_behind(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(max_retries=0)
    for _ in range(30):
        asyncio.run(llm.ainvoke("hi"))
    gc.collect()
    loops = [obj for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop)]
    assert len(loops) <= 1, f"{len(loops)} event loops are still alive"
    assert wait_until(lambda: emulator.open_connections == 0), emulator.open_connections


def test_a_key_read_from_a_file_works_and_never_shows(emulator: WandbEmulator) -> None:
    key = "sk-0123456789abcdef0123"
    emulator.api_key = key
    llm = emulator.chat_model(api_key=f"  {key}\n", max_retries=0)
    assert llm.invoke("hi").content
    emulator.script(Reply(status=400, error_message="bad request", echo_auth=True))
    with pytest.raises(openai.BadRequestError, match=r"Server said \(400\): bad request") as caught:
        llm.invoke("hi")
    error = caught.value
    assert isinstance(error, ModelInvalidRequestError)
    shown = [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        repr(getattr(error, "body", None)),
        error.response.text,
        repr(dict(error.response.request.headers)),
    ]
    assert "bad request" in shown[0]
    for text in shown:
        assert key not in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": ""}, "model must be a W&B model id"),
        ({"model": "  "}, "model must be a W&B model id"),
        ({"api_key": "clé-secrète"}, "characters no key has"),
        ({"stream_idle_timeout": float("inf")}, "stream_idle_timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"temperature": -1}, "temperature must be a finite number"),
    ],
)
def test_bad_constructor_input_is_named_before_any_request(
    emulator: WandbEmulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match) as caught:
        llm = emulator.chat_model(**kwargs)
        llm.invoke("hi")
    assert "clé-secrète" not in str(caught.value)
    assert emulator.connections_accepted == 0


@pytest.mark.parametrize(
    ("invoke_kwargs", "error", "match"),
    [
        ({"temperature": -1}, ValueError, "temperature must be a finite number"),
        ({"tools": [{"function": {}}]}, ValueError, "Each tool must be"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]},
            ValueError,
            "parameters",
        ),
    ],
)
def test_bad_call_input_is_named_before_any_request(
    emulator: WandbEmulator, invoke_kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    llm = emulator.chat_model(max_retries=0)
    with pytest.raises(error, match=match):
        llm.invoke("hi", **invoke_kwargs)
    assert emulator.connections_accepted == 0


def test_a_lone_surrogate_is_named_not_a_raw_unicode_error(emulator: WandbEmulator) -> None:
    llm = emulator.chat_model(max_retries=0)
    with pytest.raises(ValueError, match="cannot be sent as UTF-8"):
        llm.invoke("broken \ud800 text")
    assert emulator.chat_requests == []


@pytest.mark.parametrize("url", ["not-a-url", "ftp://example.com/v1", "http://"])
def test_a_base_url_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("WANDB_INFERENCE_BASE_URL", url)
    with pytest.raises(ValueError, match="base_url must be an http"):
        ChatWandbInference(api_key=SecretStr("k"))
