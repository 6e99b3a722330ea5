"""`langchain_wandb.batch.run`/`arun` against the emulator: formats, resume, stops, cost."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.outputs import ChatResult

from langchain_wandb import ChatWandbInference
from langchain_wandb._sdk_errors import (
    WandbAuthenticationError,
    WandbPaymentRequiredError,
    WandbPermissionDeniedError,
    WandbPersonalAccountError,
    WandbQuotaExceededError,
)
from langchain_wandb.batch import BatchSummary, InputError, OutputError, arun, run
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

SMALL = "meta-llama/Llama-3.1-8B-Instruct"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    },
}


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def read_output(path: Path) -> dict[str, dict[str, Any]]:
    """The output rows by custom_id; fails on a duplicate or a damaged line."""
    rows: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert record["custom_id"] not in rows, f"duplicate row {record['custom_id']}"
        rows[record["custom_id"]] = record
    return rows


def prompts(count: int, **body: Any) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"r{n}",
            "body": {"messages": [{"role": "user", "content": f"row {n}"}], **body},
        }
        for n in range(count)
    ]


def test_every_input_form_runs_and_body_fields_reach_the_server(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            {
                "custom_id": "openai",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": SMALL,
                    "messages": [{"role": "user", "content": "weather in Paris"}],
                    "tools": [WEATHER_TOOL],
                    "temperature": 0.3,
                    "max_tokens": 40,
                    "stream": False,
                },
            },
            {
                "custom_id": "schema",
                "body": {
                    "messages": [{"role": "user", "content": "give 7"}],
                    "response_format": SCHEMA_FORMAT,
                    "max_completion_tokens": 30,
                },
            },
            {"custom_id": "simple", "messages": [{"role": "user", "content": "hello"}]},
            "a plain prompt",
            "{this line is broken",
        ],
    )
    llm = emulator.chat_model(model="openai/gpt-oss-20b", max_retries=0, seed=5)
    output = tmp_path / "out.jsonl"
    summary = run(llm, source, output)
    assert (summary.total, summary.answered, summary.invalid_input) == (5, 4, 1)
    assert summary.bad_lines == [5]
    assert summary.complete
    rows = read_output(output)
    assert set(rows) == {"openai", "schema", "simple", "line-4", "line-5"}
    by_content = {_last_user(body): body for body in emulator.chat_requests}
    openai_body = by_content["weather in Paris"]
    assert openai_body["model"] == SMALL  # the row's model wins
    assert (openai_body["temperature"], openai_body["max_tokens"]) == (0.3, 40)
    assert openai_body["tools"] == [WEATHER_TOOL]
    assert openai_body["seed"] == 5  # the model's own settings apply to every row
    assert by_content["give 7"]["max_tokens"] == 30
    assert by_content["give 7"]["model"] == "openai/gpt-oss-20b"
    call = rows["openai"]["response"]["body"]["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    schema_answer = rows["schema"]["response"]["body"]["choices"][0]["message"]["content"]
    assert json.loads(schema_answer) == {"n": 7}
    plain = rows["line-4"]["response"]["body"]
    assert plain["choices"][0]["message"]["content"] == "You said: a plain prompt"
    assert plain["usage"]["total_tokens"] == (
        plain["usage"]["prompt_tokens"] + plain["usage"]["completion_tokens"]
    )
    cost = rows["simple"]["response"]["body"]["cost"]  # the answer's own, from the price list
    assert cost["currency"] == "USD"
    assert cost["total"] > 0
    assert summary.cost_known
    assert summary.cost == pytest.approx(
        sum(r["response"]["body"]["cost"]["total"] for r in rows.values() if not r["error"])
    )
    assert rows["line-5"]["error"]["code"] == "invalid_input"
    assert "line 5 is not valid JSON" in rows["line-5"]["error"]["message"]


def _last_user(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def test_row_models_false_sends_every_row_to_the_models_model(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(3, model="gpt-4o-mini"))
    llm = emulator.chat_model(model=SMALL, max_retries=0)
    summary = run(llm, source, tmp_path / "out.jsonl", row_models=False)
    assert summary.answered == 3
    assert {body["model"] for body in emulator.chat_requests} == {SMALL}


def test_an_unknown_row_model_fails_that_row_only_with_the_servers_text(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    rows = prompts(3)
    rows[1]["body"]["model"] = "gpt-4o-mini"  # an OpenAI batch file, unchanged
    source = write_lines(tmp_path / "in.jsonl", rows)
    summary = run(emulator.chat_model(max_retries=0), source, tmp_path / "out.jsonl")
    assert (summary.answered, summary.failed) == (2, 1)
    error = read_output(tmp_path / "out.jsonl")["r1"]["error"]
    assert error["code"] == "WandbNotFoundError"
    assert "gpt-4o-mini" in error["message"]
    assert error["retry_on_resume"] is False


def test_resume_skips_answers_and_permanent_failures_and_retries_the_rest(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    rows = prompts(6)
    rows[2]["body"]["emulator_reply"] = {"status": 400, "error_message": "bad row, always"}
    source = write_lines(tmp_path / "in.jsonl", rows)
    output = tmp_path / "out.jsonl"
    llm = emulator.chat_model(max_retries=0)
    emulator.script(Reply(status=503, error_message="overloaded, try later"))
    first = run(llm, source, output, max_in_flight=1)
    assert (first.answered, first.failed, first.retry_later) == (4, 1, 1)
    assert not first.complete
    transient = next(
        r for r in read_output(output).values() if r["error"] and r["error"]["retry_on_resume"]
    )
    assert "overloaded, try later" in transient["error"]["message"]
    emulator.reset()
    second = run(llm, source, output)
    assert (second.skipped, second.answered, second.failed, second.retry_later) == (5, 1, 0, 0)
    assert second.complete
    assert len(emulator.chat_requests) == 1  # only the row that may pass ran again
    final = read_output(output)
    assert len(final) == 6
    assert final[transient["custom_id"]]["error"] is None
    assert "bad row, always" in final["r2"]["error"]["message"]


def test_a_torn_last_line_is_redone_and_nothing_else(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(5))
    output = tmp_path / "out.jsonl"
    llm = emulator.chat_model(max_retries=0)
    run(llm, source, output)
    lines = output.read_bytes().splitlines(keepends=True)
    torn_id = json.loads(lines[-1])["custom_id"]
    output.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # killed mid-write
    emulator.reset()
    summary = run(llm, source, output)
    assert (summary.skipped, summary.answered) == (4, 1)
    assert [_last_user(b) for b in emulator.chat_requests] == [f"row {torn_id[1:]}"]
    assert len(read_output(output)) == 5


def test_changed_settings_are_refused_on_resume_unless_allowed(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(2))
    output = tmp_path / "out.jsonl"
    run(emulator.chat_model(max_retries=0, temperature=0.2), source.parent / "in.jsonl", output)
    source.write_text(source.read_text() + json.dumps(prompts(3)[2]) + "\n")
    before = output.read_bytes()
    with pytest.raises(OutputError, match=r"temperature"):
        run(emulator.chat_model(max_retries=0, temperature=0.9), source, output)
    assert output.read_bytes() == before
    summary = run(
        emulator.chat_model(max_retries=0, temperature=0.9),
        source,
        output,
        allow_changed_settings=True,
    )
    assert (summary.skipped, summary.answered) == (2, 1)


def test_duplicate_custom_ids_refuse_the_file_before_any_request(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    rows = prompts(3)
    rows[2]["custom_id"] = "r0"
    source = write_lines(tmp_path / "in.jsonl", rows)
    with pytest.raises(InputError, match=r"custom_id 'r0' is on line 1 and again on line 3"):
        run(emulator.chat_model(), source, tmp_path / "out.jsonl")
    assert emulator.chat_requests == []
    assert not (tmp_path / "out.jsonl").exists()


QUOTA = "You exceeded your current quota, please check your plan and billing details"
PERSONAL = (
    "W&B Inference isn't available for personal accounts. Please switch to a non-personal "
    "account to access W&B Inference."
)


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [
        (Reply(status=401, error_message="Invalid API key"), WandbAuthenticationError),
        (Reply(status=402, error_message="Out of credits"), WandbPaymentRequiredError),
        (Reply(status=403, error_message="Not in your region"), WandbPermissionDeniedError),
        (Reply(status=429, error_message=QUOTA), WandbQuotaExceededError),
        (Reply(status=429, error_message=PERSONAL), WandbPersonalAccountError),
    ],
)
def test_a_run_stops_cleanly_where_continuing_is_pointless(
    emulator: WandbEmulator, tmp_path: Path, reply: Reply, error_type: type[Exception]
) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(40))
    output = tmp_path / "out.jsonl"
    llm = emulator.chat_model(max_retries=2)
    emulator.script(Reply(), Reply(), Reply(), reply)
    summary = run(llm, source, output, max_in_flight=4)
    assert isinstance(summary.stop_error, error_type)
    assert summary.stop_reason is not None
    assert reply.error_message in summary.stop_reason
    assert not summary.complete
    assert summary.not_run > 0
    kept = read_output(output)
    assert 3 <= len(kept) < 40
    assert all(row["error"] is None for row in kept.values())  # the stopping row is not kept
    # Resumed once the account is fixed: the rest runs, nothing twice.
    summary = run(llm, source, output)
    assert summary.complete
    assert summary.skipped == len(kept)
    assert len(read_output(output)) == 40


class _Priced(ChatWandbInference):
    """A model whose answers carry a price, as the cost helper will add."""

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        result = await super()._agenerate(*args, **kwargs)
        cost = {"input": 0.004, "output": 0.006, "total": 0.01, "currency": "USD"}
        result.generations[0].message.response_metadata["cost"] = cost
        return result


def test_the_spending_cap_stops_starting_rows(emulator: WandbEmulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(30))
    output = tmp_path / "out.jsonl"
    llm = _Priced(base_url=emulator.base_url, api_key="k", streaming=False, max_retries=0)
    summary = run(llm, source, output, max_cost=0.05, max_in_flight=2)
    assert summary.stop_reason is not None
    assert "spending cap" in summary.stop_reason
    assert 5 <= summary.answered <= 7  # the cap, plus the rows already in flight
    assert summary.cost == pytest.approx(0.01 * summary.answered)
    assert summary.cost_text() == f"${0.01 * summary.answered:.6f}"
    assert len(read_output(output)) == summary.answered
    body = next(iter(read_output(output).values()))["response"]["body"]
    assert body["cost"]["total"] == 0.01


def test_answers_from_langchain_cache_cost_nothing_and_never_reach_the_cap(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    # The summary counts like get_wandb_callback: a cached answer carries the first
    # call's cost in its metadata, but W&B did not bill it again.
    source = write_lines(tmp_path / "in.jsonl", prompts(4))
    llm = emulator.chat_model(max_retries=0, cache=InMemoryCache())
    first = run(llm, source, tmp_path / "first.jsonl", max_in_flight=1)
    assert first.cost_known
    assert first.cost > 0
    assert first.input_tokens > 0
    again = run(llm, source, tmp_path / "again.jsonl", max_cost=first.cost / 2)
    assert again.answered == 4
    assert again.stop_reason is None
    assert again.cost_text() == "$0.000000"
    assert (again.input_tokens, again.output_tokens) == (0, 0)
    assert "4 answers from LangChain's cache (not billed)" in again.text()


def test_a_cap_cannot_hold_when_prices_are_unknown(emulator: WandbEmulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(10))
    emulator.add_model("acme/unpriced-model")  # not in the price list
    llm = emulator.chat_model(model="acme/unpriced-model", max_retries=0)
    summary = run(llm, source, tmp_path / "out.jsonl", max_cost=1.0, max_in_flight=2)
    assert summary.stop_reason is not None
    assert "cannot be enforced" in summary.stop_reason
    assert 1 <= summary.answered <= 2  # the rows in flight when the first answer came
    assert summary.cost_text().startswith("unknown")


def test_arun_in_async_code_reports_governor_progress(
    tmp_path: Path,
) -> None:
    async def main() -> BatchSummary:
        with WandbEmulator(concurrency_limit=2, time_to_first_token=0.01) as emu:
            llm = emu.chat_model(max_retries=0)
            source = write_lines(tmp_path / "in.jsonl", prompts(12))
            return await arun(llm, source, tmp_path / "out.jsonl", max_in_flight=6)

    summary = asyncio.run(main())
    assert summary.answered == 12
    assert summary.complete


def test_a_resumed_runs_progress_starts_at_the_rows_already_done(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", prompts(4))
    output = tmp_path / "out.jsonl"
    llm = emulator.chat_model(max_retries=0)
    emulator.script(Reply(status=503, error_message="overloaded, try later"))
    assert run(llm, source, output, max_in_flight=1).retry_later == 1
    stream = io.StringIO()
    second = run(llm, source, output, progress=True, progress_stream=stream)
    assert (second.skipped, second.answered) == (3, 1)
    shown = stream.getvalue()
    assert "3/4" in shown
    assert "4/4" in shown
    assert "0/4" not in shown


@pytest.mark.parametrize(
    "kind", ["invalid_parameters", "invalid_request", "not_found", "server_error"]
)
def test_a_failed_rows_response_body_is_the_servers_error_body_as_sent(
    emulator: WandbEmulator, tmp_path: Path, kind: str
) -> None:
    """W&B's 422 is `{"detail": [...]}`, not `{"error": ...}`: the row must not rewrap it."""
    reply = Reply.wandb_error(kind)
    source = write_lines(tmp_path / "in.jsonl", prompts(1))
    output = tmp_path / "out.jsonl"
    emulator.script(reply)
    run(emulator.chat_model(max_retries=0), source, output)
    row = read_output(output)["r0"]
    assert row["response"]["status_code"] == reply.status
    assert row["response"]["body"] == reply.error_body


def test_an_openai_batch_body_with_store_service_tier_and_metadata_runs_unchanged(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    extra = {"store": False, "service_tier": "auto", "metadata": {"experiment": "e1"}}
    source = write_lines(tmp_path / "in.jsonl", prompts(2, **extra))
    output = tmp_path / "out.jsonl"
    summary = run(emulator.chat_model(max_retries=0), source, output)
    assert summary.complete
    assert all(row["error"] is None for row in read_output(output).values())
    for body in emulator.chat_requests:
        assert not {"store", "service_tier", "metadata"} & set(body)
    # Other values ask for what W&B lacks: that row fails, saying why; nothing is sent.
    asks = write_lines(tmp_path / "asks.jsonl", prompts(1, service_tier="flex"))
    run(emulator.chat_model(max_retries=0), asks, tmp_path / "asks.out.jsonl")
    (row,) = read_output(tmp_path / "asks.out.jsonl").values()
    assert "service_tier is not supported" in row["error"]["message"]
    assert len(emulator.chat_requests) == 2


def test_rows_billed_but_failed_count_in_tokens_cost_and_the_spending_cap(
    emulator: WandbEmulator, tmp_path: Path
) -> None:
    """A tool call cut off at max_tokens fails its row, yet W&B billed its tokens."""
    cut = Reply(
        tool_calls=[ToolCallReply("get_weather", '{"city": "Par', id="c1")],
        finish_reason="length",
    )
    emulator.script(*[cut] * 6)
    source = write_lines(tmp_path / "in.jsonl", prompts(6, tools=[WEATHER_TOOL]))
    output = tmp_path / "out.jsonl"
    summary = run(emulator.chat_model(max_retries=0), source, output, max_in_flight=1)
    assert summary.failed == 6
    assert summary.output_tokens > 0
    assert summary.cost > 0
    assert summary.cost_known
    per_row = summary.cost / 6
    output.unlink()
    emulator.script(*[cut] * 6)
    capped = run(
        emulator.chat_model(max_retries=0), source, output, max_in_flight=1, max_cost=per_row * 2
    )
    assert capped.stop_reason is not None
    assert "spending cap" in capped.stop_reason
    assert capped.not_run > 0
