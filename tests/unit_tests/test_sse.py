"""SSE line decoding: what is skipped, what ends a stream, what must raise."""

from __future__ import annotations

import pytest

from langchain_wandb._errors import StreamEndedEarlyError, WandbStreamError
from langchain_wandb._sse import SSEDecoder, adecode_lines, decode_lines

CONTENT = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}'
FINISH = 'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'


def texts(lines: list[str]) -> list[str]:
    return [chunk.text for chunk in decode_lines(lines)]


def test_comments_events_blank_lines_are_skipped() -> None:
    lines = [
        ": keep-alive",
        "event: message",
        "",
        CONTENT,
        "id: 3",
        "retry: 10",
        FINISH,
        "data: [DONE]",
    ]
    assert texts(lines) == ["hi", "", ""]


def test_data_without_space_and_trailing_cr() -> None:
    assert texts([CONTENT.replace("data: ", "data:") + "\r", FINISH, "data: [DONE]"])[0] == "hi"


def test_lines_after_done_are_ignored() -> None:
    assert texts([CONTENT, FINISH, "data: [DONE]", CONTENT]) == ["hi", "", ""]


def test_error_payload_raises() -> None:
    with pytest.raises(WandbStreamError, match="boom"):
        texts([CONTENT, 'data: {"error": {"message": "boom", "type": "server_error"}}'])


def test_malformed_json_raises_with_excerpt() -> None:
    with pytest.raises(WandbStreamError, match=r"malformed JSON.*broken"):
        texts([CONTENT, 'data: {"broken": '])


def test_non_object_payload_raises() -> None:
    with pytest.raises(WandbStreamError, match="not an object"):
        texts(["data: [1, 2]"])


def test_stream_closed_before_finish_raises() -> None:
    with pytest.raises(StreamEndedEarlyError, match="ended early"):
        texts([CONTENT])


def test_stream_with_finish_but_no_done_is_complete() -> None:
    assert texts([CONTENT, FINISH]) == ["hi", "", ""]


def test_feed_returns_none_for_non_data() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(": ping") is None
    assert decoder.feed("data: [DONE]") is None
    assert decoder.done


async def test_async_decoder_matches_sync() -> None:
    async def lines():  # type: ignore[no-untyped-def]
        for line in [CONTENT, FINISH, "data: [DONE]"]:
            yield line

    assert [c.text async for c in adecode_lines(lines())] == texts(
        [CONTENT, FINISH, "data: [DONE]"]
    )
