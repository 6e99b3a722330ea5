"""Event-stream decoding from raw bytes: every case fed whole, split at every byte, bytewise.

The parser table checks the exact event data the WHATWG rules give; the stream table
checks what the whole decoder makes of a reply (answer, or the typed error and why).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import reduce
from typing import cast

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from langchain_wandb._chunks import StreamState, keep_partial
from langchain_wandb._errors import (
    EventTooLargeError,
    MalformedResponseError,
    NoAnswerError,
    StreamEndedEarlyError,
    WandbStreamError,
)
from langchain_wandb._sse import (
    MAX_EVENT_BYTES,
    EventStreamParser,
    adecode_stream,
    decode_stream,
)


def splits(raw: bytes) -> Iterator[list[bytes]]:
    """`raw` in one piece, in two pieces at every byte position, and one byte at a time."""
    yield [raw]
    for cut in range(len(raw) + 1):
        yield [raw[:cut], raw[cut:]]
    yield [raw[i : i + 1] for i in range(len(raw))]


def parse(pieces: list[bytes], limit: int = MAX_EVENT_BYTES) -> list[bytes]:
    parser = EventStreamParser(max_event_bytes=limit)
    events = [data for piece in pieces for data in parser.feed(piece)]
    final = parser.close()
    return [*events, final] if final is not None else events


U = "a\u2028b\u2029c\u0085d".encode()

PARSER_CASES: list[tuple[str, bytes, list[bytes]]] = [
    ("lf", b"data: a\n\ndata: b\n\n", [b"a", b"b"]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [b"a", b"b"]),
    ("lone-cr", b"data: a\r\rdata: b\r\r", [b"a", b"b"]),
    ("mixed-ends", b"data: a\r\n\rdata: b\n\r\n", [b"a", b"b"]),
    ("crlf-inside-one-event", b"data: a\r\ndata: b\r\n\r\n", [b"a\nb"]),
    ("cr-then-lf-line", b"data: a\r\ndata: b\r\r\n", [b"a\nb"]),
    ("bom", b"\xef\xbb\xbfdata: a\n\n", [b"a"]),
    ("only-one-bom-skipped", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", []),
    ("unicode-separators-are-not-line-ends", b"data: " + U + b"\n\n", [U]),
    ("multi-line-data", b"data: a\ndata: b\ndata: c\n\n", [b"a\nb\nc"]),
    ("comments", b": keep-alive\ndata: a\n:\n: x: y\n\n", [b"a"]),
    ("event-id-retry", b"event: message\nid: 7\nretry: 100\ndata: a\n\n", [b"a"]),
    ("fields-without-data-dispatch-nothing", b"event: ping\nid: 1\n\n", []),
    ("field-without-colon", b"data\ndata: a\n\n", [b"\na"]),
    ("bare-data-line", b"data\n\n", [b""]),
    ("data-without-space", b"data:a\n\n", [b"a"]),
    ("only-one-space-removed", b"data:  a \n\n", [b" a "]),
    ("data-field-name-is-exact", b"datax: a\nDATA: b\n\n", []),
    ("non-utf8-bytes-kept-for-the-decoder", b"data: a\xff\xfeb\n\n", [b"a\xff\xfeb"]),
    ("multibyte-utf8", "data: é🙂\n\n".encode(), ["é🙂".encode()]),
    ("blank-lines-between-events", b"\n\n\ndata: a\n\n\n\ndata: b\n\n", [b"a", b"b"]),
    ("final-event-without-blank-line", b"data: a\n\ndata: b\n", [b"a", b"b"]),
    ("final-line-without-line-end", b"data: a\n\ndata: b", [b"a", b"b"]),
    ("empty", b"", []),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in PARSER_CASES], ids=[c[0] for c in PARSER_CASES]
)
def test_parser_follows_the_event_stream_rules(raw: bytes, expected: list[bytes]) -> None:
    for pieces in splits(raw):
        assert parse(pieces) == expected, pieces


def test_parser_keeps_non_event_text_bounded() -> None:
    parser = EventStreamParser()
    parser.feed(b"<html>\n<title>502 Bad Gateway</title>\n" + b"x" * 200_000 + b"\n")
    parser.close()
    assert parser.stray.startswith("<html>\n<title>502 Bad Gateway</title>\nxxx")
    assert len(parser.stray) <= 64 * 1024 + 2


@pytest.mark.parametrize(
    ("raw", "what"),
    [(b"data: " + b"x" * 100, "a line"), (b"data: 12345678\n" * 12 + b"\n", "an event")],
    ids=["endless-line", "many-data-lines"],
)
def test_parser_bounds_lines_and_events(raw: bytes, what: str) -> None:
    for pieces in splits(raw):
        with pytest.raises(EventTooLargeError, match=f"sent {what} larger than 64 bytes"):
            parse(pieces, limit=64)


def test_default_limit_stops_an_endless_line() -> None:
    parser = EventStreamParser()
    piece = b"x" * (1024 * 1024)
    with pytest.raises(EventTooLargeError, match="larger than 16,777,216 bytes"):
        parser.feed(b"data: ")
        for _ in range(17):
            parser.feed(piece)


# -- whole streams -----------------------------------------------------------------------
def event(body: str) -> bytes:
    return b"data: " + body.encode() + b"\n\n"


def content(text: str) -> str:
    return '{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":' + text + "}}]}"


FINISH = event('{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}')
USAGE = event('{"id":"c1","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}')
DONE = b"data: [DONE]\n\n"


def decode(pieces: list[bytes], limit: int = MAX_EVENT_BYTES) -> tuple[AIMessageChunk, StreamState]:
    state = StreamState()
    messages = [
        cast("AIMessageChunk", c.message)
        for c in decode_stream(iter(pieces), state, max_event_bytes=limit)
    ]
    assert messages[-1].chunk_position == "last"
    return reduce(lambda a, b: a + b, messages), state


GOOD_CASES: list[tuple[str, bytes, str]] = [
    (
        "crlf-comments-fields",
        (
            event(content('"Hi "'))
            + b": keep-alive\r\n\r\nevent: message\r\nid: 2\r\n"
            + event(content('"th\\u00e9re"'))
            + FINISH
            + USAGE
            + DONE
        ).replace(b"\n", b"\r\n"),
        "Hi th\u00e9re",
    ),
    (
        "raw-multibyte-and-separators",
        event(content('"é🙂\u2028\u2029\u0085"')) + FINISH,
        "é🙂\u2028\u2029\u0085",
    ),
    (
        "invalid-utf8-becomes-replacement",
        event(content('"a#"')).replace(b"#", b"\xff") + FINISH,
        "a\ufffd",
    ),
    ("lone-cr-line-ends", (event(content('"x"')) + FINISH + DONE).replace(b"\n", b"\r"), "x"),
    ("bom", b"\xef\xbb\xbf" + event(content('"x"')) + FINISH + DONE, "x"),
    (
        "multi-line-data-json",
        b'data: {"choices":[{"delta":\ndata: {"content":"x"}}]}\n\n' + FINISH,
        "x",
    ),
    ("finish-event-without-blank-line", event(content('"x"')) + FINISH[:-1], "x"),
    ("done-without-line-end", event(content('"x"')) + FINISH + b"data: [DONE]", "x"),
    (
        "events-after-done-are-ignored",
        event(content('"x"')) + FINISH + DONE + event(content('"y"')),
        "x",
    ),
    ("empty-data-events-carry-nothing", b"data:\n\n" + event(content('"x"')) + FINISH, "x"),
]


@pytest.mark.parametrize(
    ("raw", "text"), [c[1:] for c in GOOD_CASES], ids=[c[0] for c in GOOD_CASES]
)
def test_stream_decodes_exactly(raw: bytes, text: str) -> None:
    for pieces in splits(raw):
        message, state = decode(pieces)
        assert message.content == text, pieces
        assert message.response_metadata["finish_reason"] == "stop"
        assert state.finish_reason == "stop"


BAD_CASES: list[tuple[str, bytes, type[Exception], str]] = [
    ("done-only", DONE, NoAnswerError, r"ended \(\[DONE\]\) without any answer or finish reason"),
    ("usage-then-done", USAGE + DONE, NoAnswerError, "without any answer"),
    (
        "json-error-body",
        b'{"error": {"message": "model overloaded", "type": "server_error"}}',
        NoAnswerError,
        r"error instead of an event stream: model overloaded \(server_error\)",
    ),
    (
        "pretty-json-error-body",
        b'{\n  "error": {\n    "message": "Invalid project"\n  }\n}\n',
        NoAnswerError,
        "instead of an event stream: Invalid project",
    ),
    (
        "detail-body",
        b'{"detail": "Not Found"}',
        NoAnswerError,
        "instead of an event stream: Not Found",
    ),
    (
        "html-body",
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n",
        NoAnswerError,
        r"not an event stream, and no answer: '<html> <head><title>502 Bad Gateway",
    ),
    ("empty-body", b"", StreamEndedEarlyError, "closed before the response finished"),
    ("closed-before-finish", event(content('"x"')), StreamEndedEarlyError, "ended early"),
    (
        "cut-off-mid-event",
        b'data: {"choices":[{"delta":{"content":"x"',
        StreamEndedEarlyError,
        "ended mid-event",
    ),
    (
        "error-event",
        event(content('"x"')) + event('{"error":{"message":"boom"}}'),
        WandbStreamError,
        "error mid-stream: boom",
    ),
    (
        "malformed-json",
        event(content('"x"')) + event('{"broken": '),
        MalformedResponseError,
        r"malformed JSON in the stream: '\{\"broken\":'",
    ),
    ("not-an-object", event("[1, 2]"), MalformedResponseError, r"not an object: '\[1, 2\]'"),
]


@pytest.mark.parametrize(
    ("raw", "error", "match"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_stream_raises_typed_errors_that_say_why(
    raw: bytes, error: type[Exception], match: str
) -> None:
    for pieces in splits(raw):
        with pytest.raises(error, match=match):
            decode(pieces)


def test_stream_with_an_oversized_event_raises() -> None:
    raw = event(content('"Hi"')) + event(content('"' + "x" * 100 + '"'))
    for pieces in splits(raw):
        with pytest.raises(EventTooLargeError, match="larger than 80 bytes"):
            decode(pieces, limit=80)


def test_error_keeps_what_arrived_before_it() -> None:
    raw = event(content('"Hi"')) + event('{"error":{"message":"boom"}}')
    for pieces in splits(raw):
        received: list[ChatGenerationChunk] = []
        with pytest.raises(WandbStreamError, match="boom") as caught:
            with keep_partial(received):
                received.extend(decode_stream(iter(pieces), StreamState()))
        assert caught.value.partial is not None
        assert caught.value.partial.content == "Hi"


def test_state_tells_the_caller_what_happened() -> None:
    reasoning = event('{"id":"c1","model":"m","choices":[{"delta":{"reasoning":"hmm"}}]}')
    length = event('{"id":"c1","choices":[{"delta":{},"finish_reason":"length"}]}')
    _, state = decode([reasoning + length])
    assert (state.finish_reason, state.model, state.has_reasoning) == ("length", "m", True)
    assert (state.has_text, state.has_tool_calls, state.done) == (False, False, False)
    assert state.usage_lost
    _, state = decode([event(content('"x"')) + FINISH + USAGE + DONE])
    assert state.has_text
    assert state.done
    assert not state.usage_lost


async def test_async_decoder_matches_sync() -> None:
    raw = event(content('"Hi"')) + FINISH + USAGE + DONE

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(raw), 7):
            yield raw[i : i + 7]

    chunks = [c.message async for c in adecode_stream(pieces(), StreamState())]
    message, _ = decode([raw])
    assert reduce(lambda a, b: a + b, chunks) == message


def test_a_stream_that_ends_mid_tool_call_keeps_the_call_invalid_as_sent() -> None:
    # LangChain's merge would make {"city": "Par"} of it; the error's partial must not.
    call = (
        b'{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{\\"city\\": \\"Par"}}'
    )
    piece = b'data: {"choices": [{"index": 0, "delta": {"tool_calls": [' + call + b"]}}]}\n\n"
    received: list[ChatGenerationChunk] = []
    with pytest.raises(StreamEndedEarlyError) as caught, keep_partial(received):
        received.extend(decode_stream(iter([piece]), StreamState()))
    partial = caught.value.partial
    assert partial is not None
    assert partial.tool_calls == []
    assert [(c["name"], c["args"]) for c in partial.invalid_tool_calls] == [("f", '{"city": "Par')]
