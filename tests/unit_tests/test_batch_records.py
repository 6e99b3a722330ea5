"""Batch output rows (OpenAI's batch output format), failure outcomes, summary and progress."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from langchain_core.messages import AIMessage

from langchain_wandb._errors import MalformedResponseError, StreamEndedEarlyError
from langchain_wandb._sdk_errors import (
    WandbAPIStatusError,
    WandbAuthenticationError,
    WandbBadRequestError,
    WandbConnectionError,
    WandbNotFoundError,
    WandbPaymentRequiredError,
    WandbPermissionDeniedError,
    WandbPersonalAccountError,
    WandbQuotaExceededError,
    WandbRateLimitError,
    WandbServerError,
    WandbTimeoutError,
)
from langchain_wandb.batch import BatchSummary, _progress
from langchain_wandb.batch._progress import NoProgress, details, make_progress
from langchain_wandb.batch._records import (
    bad_input_record,
    dumps,
    error_record,
    outcome_of,
    success_record,
)

_REQUEST = httpx2.Request("POST", "https://api.inference.wandb.ai/v1/chat/completions")


def _status_error(cls: type[Any], status: int, said: str) -> Any:
    response = httpx2.Response(status, request=_REQUEST)
    body = {"message": said, "type": "error", "code": status}
    return cls(f"Server said ({status}): {said}", response=response, body=body)


QUOTA = "You exceeded your current quota, please check your plan and billing details"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (_status_error(WandbAuthenticationError, 401, "bad key"), "stop"),
        (_status_error(WandbPaymentRequiredError, 402, "no credits"), "stop"),
        (_status_error(WandbPermissionDeniedError, 403, "region"), "stop"),
        (_status_error(WandbQuotaExceededError, 429, QUOTA), "stop"),
        (_status_error(WandbPersonalAccountError, 429, "not for personal accounts"), "stop"),
        (_status_error(WandbRateLimitError, 429, "Concurrency limit reached"), "transient"),
        (_status_error(WandbServerError, 503, "overloaded"), "transient"),
        (_status_error(WandbAPIStatusError, 409, "conflict"), "transient"),
        (WandbConnectionError(request=_REQUEST), "transient"),
        (WandbTimeoutError(request=_REQUEST), "transient"),
        (StreamEndedEarlyError("cut"), "transient"),
        (_status_error(WandbBadRequestError, 400, "bad"), "permanent"),
        (_status_error(WandbNotFoundError, 404, "no model"), "permanent"),
        (MalformedResponseError("garbled"), "permanent"),
        (ValueError("temperature must be a finite number"), "permanent"),
    ],
)
def test_what_each_failure_means_for_the_run(error: BaseException, outcome: str) -> None:
    assert outcome_of(error) == outcome


def test_an_error_row_is_typed_and_keeps_the_servers_text_and_body() -> None:
    record = error_record("r1", _status_error(WandbServerError, 500, "the GPU fell over"))
    assert record["custom_id"] == "r1"
    assert record["id"].startswith("batch_req_")
    assert record["response"] == {
        "status_code": 500,
        "request_id": None,
        "body": {"error": {"message": "the GPU fell over", "type": "error", "code": 500}},
    }
    assert record["error"]["code"] == "WandbServerError"
    assert "the GPU fell over" in record["error"]["message"]
    assert record["error"]["retry_on_resume"] is True


def test_an_error_without_a_status_has_no_response() -> None:
    record = error_record("r1", ValueError("n must be 1"))
    assert record["response"] is None
    assert record["error"] == {
        "code": "ValueError",
        "message": "n must be 1",
        "retry_on_resume": False,
    }
    bad = bad_input_record("line-3", "line 3 is not valid JSON")
    assert bad["error"]["code"] == "invalid_input"
    assert bad["error"]["retry_on_resume"] is False


def _answer(**extra: Any) -> AIMessage:
    return AIMessage(
        content="Hello",
        id="run-1",
        additional_kwargs={"reasoning_content": "thinking"},
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "call_1", "type": "tool_call"}],
        invalid_tool_calls=[
            {
                "name": "g",
                "args": '{"x":',
                "id": "call_2",
                "error": "not JSON",
                "type": "invalid_tool_call",
            }
        ],
        usage_metadata={
            "input_tokens": 10,
            "output_tokens": 7,
            "total_tokens": 17,
            "input_token_details": {"cache_read": 4},
            "output_token_details": {"reasoning": 3},
        },
        response_metadata={
            "id": "chatcmpl-1",
            "model_name": "openai/gpt-oss-20b",
            "finish_reason": "tool_calls",
            "system_fingerprint": "fp",
            **extra,
        },
    )


def test_an_answer_is_a_chat_completion_with_usage_details_and_cost() -> None:
    cost = {"input": 0.1, "output": 0.2, "total": 0.3, "currency": "USD"}
    record = json.loads(dumps(success_record("r1", _answer(cost=cost))))
    assert record["error"] is None
    response = record["response"]
    assert (response["status_code"], response["request_id"]) == (200, None)
    body = response["body"]
    assert (body["id"], body["object"], body["model"]) == (
        "chatcmpl-1",
        "chat.completion",
        "openai/gpt-oss-20b",
    )
    assert body["system_fingerprint"] == "fp"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Hello",
        "reasoning": "thinking",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "f", "arguments": '{"x": 1}'},
            },
            # Arguments that are not JSON stay as the server sent them.
            {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": '{"x":'}},
        ],
    }
    assert body["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 7,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    # The row's bytes, not just its value: fields in OpenAI's order, compact separators.
    assert (
        b'"usage":{"prompt_tokens":10,"completion_tokens":7,"total_tokens":17,'
        b'"prompt_tokens_details":{"cached_tokens":4},'
        b'"completion_tokens_details":{"reasoning_tokens":3}},'
    ) in dumps(success_record("r1", _answer(cost=cost)))
    assert body["cost"] == cost


def test_an_answer_without_usage_or_price_says_so_with_nulls() -> None:
    record = success_record("r1", AIMessage(content="", response_metadata={}))
    body = record["response"]["body"]
    assert body["usage"] is None
    assert body["cost"] is None
    assert body["choices"][0]["message"] == {"role": "assistant", "content": None}


def test_summary_counts_tokens_and_cost_and_never_prints_an_unknown_cost_as_zero() -> None:
    summary = BatchSummary(output_path=Path("out.jsonl"), total=5)
    summary.add_answer(_answer(cost={"total": 0.25}))
    assert summary.cost_text() == "$0.250000"
    summary.add_answer(_answer())  # no price
    assert (summary.input_tokens, summary.output_tokens) == (20, 14)
    assert (summary.cached_tokens, summary.reasoning_tokens) == (8, 6)
    assert summary.cost_text() == "at least $0.250000 (1 rows unpriced)"
    assert not summary.cost_known
    unpriced = BatchSummary(output_path=summary.output_path, total=1)
    unpriced.add_answer(_answer(cost={"total": True}))  # not a price
    assert unpriced.cost_text() == "unknown (1 rows without a price)"
    assert "$0.0" not in unpriced.text()


def test_summary_text_lists_outcomes_bad_lines_and_the_stop() -> None:
    summary = BatchSummary(output_path=Path("out.jsonl"), total=20, skipped=2)
    for line in range(3, 15):
        summary.add_bad_line(line)
    summary.failed, summary.retry_later = 1, 1
    summary.stop_reason = "WandbPaymentRequiredError: no credits"
    text = summary.text()
    assert (
        "rows: 20 in input, 2 done before, 0 answered, 1 failed, 1 to retry, "
        "12 invalid input, 4 not run" in text
    )
    assert "invalid input on lines: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, ..." in text
    assert "stopped: WandbPaymentRequiredError: no credits" in text
    assert not summary.complete


_GOVERNOR = SimpleNamespace(limit=8, in_flight=5, queued=0)


def test_progress_off_shows_nothing() -> None:
    assert isinstance(make_progress(False, 10, 0, lambda: _GOVERNOR, io.StringIO()), NoProgress)
    quiet = NoProgress()
    quiet.update(BatchSummary(output_path=Path("o")))
    quiet.close()


def test_progress_bar_shows_done_total_failures_tokens_dollars_and_governor() -> None:
    stream = io.StringIO()
    summary = BatchSummary(output_path=Path("o"), total=2)
    summary.add_answer(_answer(cost={"total": 0.5}))
    summary.failed = 1
    bar = make_progress(True, 3, 1, lambda: _GOVERNOR, stream)
    bar.update(summary)
    bar.update(summary)
    bar.close()
    shown = stream.getvalue()
    assert "3/3" in shown  # one row was done before the run
    assert "fail 1 | tok 17 | $0.500000 | in flight 5/8" in shown


def test_progress_without_tqdm_is_one_plain_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    stream = io.StringIO()
    summary = BatchSummary(output_path=Path("o"), total=1)
    summary.add_answer(_answer())
    line = make_progress(True, 2, 1, lambda: SimpleNamespace(limit=None, in_flight=0), stream)
    line.update(summary)
    line.close()
    assert "2/2 rows" in stream.getvalue()
    assert "$0.000000+? | in flight 0/-" in stream.getvalue()  # unpriced rows: not a bare 0


def test_the_plain_line_redraws_a_few_times_a_second_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    clock = [100.0]
    monkeypatch.setattr(_progress, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    stream = io.StringIO()
    line = make_progress(True, 4, 0, lambda: SimpleNamespace(limit=None, in_flight=0), stream)
    summary = BatchSummary(output_path=Path("o"), total=4)
    for seconds in (0.0, 0.1, 0.3, 0.31):  # rows 1 to 4 handled at these times
        clock[0] = 100.0 + seconds
        line.update(summary)
    line.close()
    shown = stream.getvalue()
    assert ("1/4" in shown, "2/4" in shown, "3/4" in shown, "4/4" in shown) == (
        True,
        False,  # 0.1 s after the last redraw: not yet
        True,
        True,  # the last row: always shown, however soon
    )


def test_details_mark_unpriced_rows() -> None:
    summary = BatchSummary(output_path=Path("o"))
    assert details(summary, _GOVERNOR) == "fail 0 | tok 0 | $0.000000 | in flight 5/8"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"detail": "Not Found"}', {"detail": "Not Found"}),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"", {"error": {"message": "m"}}),
    ],
)
def test_an_error_rows_body_is_what_the_server_sent(content: bytes, expected: Any) -> None:
    response = httpx2.Response(502, content=content, request=_REQUEST)
    error = WandbServerError("Server said (502): m", response=response, body={"message": "m"})
    assert error_record("r", error)["response"]["body"] == expected


def test_an_error_body_too_deep_to_write_back_is_kept_as_its_text() -> None:
    """Readable at 990 levels, but 3.11's `json.dumps` recursed into a RecursionError: the
    run died. Where this Python writes it (3.13), the body stays the object it is."""
    content = b'{"error": {"message": "Bad", "x": ' + b"[" * 990 + b"]" * 990 + b"}}"
    response = httpx2.Response(400, content=content, request=_REQUEST)
    error = WandbBadRequestError("Server said (400): Bad", response=response, body=None)
    record = error_record("r", error)
    try:
        json.dumps(json.loads(content))
        expected: object = json.loads(content)
    except RecursionError:
        expected = content.decode()
    assert record["response"]["body"] == expected
    assert json.loads(dumps(record))["response"]["body"] == expected
