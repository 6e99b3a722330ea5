"""Batch input lines: every accepted form, and what is wrong with a bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_wandb.batch import InputError
from langchain_wandb.batch._idset import IdSet
from langchain_wandb.batch._input import BadRow, Row, custom_id_of, numbered_lines, parse_line
from langchain_wandb.batch._runner import scan_input

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


def _parse(line: object, number: int = 7) -> Row | BadRow:
    text = line if isinstance(line, str) else json.dumps(line)
    return parse_line(number, text.encode())


def test_an_openai_batch_line_maps_its_body_to_per_call_parameters() -> None:
    row = _parse(
        {
            "custom_id": "request-1",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "openai/gpt-oss-20b",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather?"},
                ],
                "tools": [WEATHER_TOOL],
                "tool_choice": "auto",
                "response_format": {"type": "json_object"},
                "temperature": 0.2,
                "max_completion_tokens": 99,
                "stream": True,
                "stream_options": {"include_usage": False},
            },
        }
    )
    assert isinstance(row, Row)
    assert row.custom_id == "request-1"
    assert [type(m) for m in row.messages] == [SystemMessage, HumanMessage]
    # The runner reads whole answers with usage: stream fields are its own, not the row's.
    assert row.params == {
        "model": "openai/gpt-oss-20b",
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "max_completion_tokens": 99,
    }


def test_a_tool_loop_conversation_is_read_whole() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    row = _parse(
        {
            "custom_id": "x",
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
        }
    )
    assert isinstance(row, Row)
    assert [type(m) for m in row.messages] == [HumanMessage, AIMessage, ToolMessage]
    assert isinstance(row.messages[1], AIMessage)
    assert row.messages[1].tool_calls[0]["name"] == "f"


def test_simple_forms_messages_prompt_and_plain_text() -> None:
    simple = _parse({"custom_id": "s", "messages": [{"role": "user", "content": "hi"}], "seed": 3})
    assert isinstance(simple, Row)
    assert (simple.custom_id, simple.params) == ("s", {"seed": 3})
    prompt = _parse({"prompt": "hello"}, number=4)
    assert isinstance(prompt, Row)
    assert prompt.custom_id == "line-4"
    assert prompt.messages[0].content == "hello"
    plain = _parse("What is 2 + 2?", number=9)
    assert isinstance(plain, Row)
    assert plain.custom_id == "line-9"
    assert plain.messages == [HumanMessage("What is 2 + 2?")]
    assert plain.params == {}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "line 7 is not valid JSON"),
        ({"custom_id": 5, "messages": []}, "custom_id must be a non-empty string"),
        ({"custom_id": "a", "body": {"messages": []}}, "messages must be a non-empty list"),
        ({"custom_id": "a", "body": "text"}, "body must be a JSON object"),
        ({"custom_id": "a", "method": "GET", "body": {}}, "method must be POST"),
        ({"custom_id": "a", "url": "/v1/embeddings", "body": {}}, "/v1/chat/completions only"),
        ({"custom_id": "a", "input": "x"}, "needs `body`"),
        ({"custom_id": "a", "prompt": 3}, "prompt must be a string"),
        ({"custom_id": "a", "messages": [{"role": "wizard", "content": "x"}]}, "cannot be read"),
    ],
)
def test_a_bad_line_names_its_number_and_problem(line: object, problem: str) -> None:
    row = _parse(line)
    assert isinstance(row, BadRow)
    assert row.line == 7
    assert problem in row.problem
    assert row.problem.startswith("line 7")


def test_a_bad_line_keeps_its_custom_id_when_it_has_one() -> None:
    row = _parse({"custom_id": "keep-me", "body": {"messages": "no"}})
    assert isinstance(row, BadRow)
    assert row.custom_id == "keep-me"


def test_a_line_that_is_not_utf8_is_a_bad_line() -> None:
    row = parse_line(3, b"caf\xe9")
    assert isinstance(row, BadRow)
    assert "not UTF-8" in row.problem


def test_blank_lines_are_not_requests_and_numbers_stay_true(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"one\n\n   \ntwo\r\n")
    assert list(numbered_lines(source)) == [(1, b"one"), (4, b"two")]
    assert scan_input(source) == 2


def test_custom_id_of_matches_what_parse_line_names() -> None:
    for number, raw in [(1, b"plain"), (2, b"{bad"), (3, b'{"custom_id": "z", "prompt": "p"}')]:
        assert custom_id_of(number, raw) == parse_line(number, raw).custom_id


def test_duplicate_custom_ids_refuse_the_file_naming_both_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"custom_id": cid, "prompt": "p"} for cid in ("a", "b", "a")]
    source.write_text("\n".join(map(json.dumps, rows)) + "\n")
    with pytest.raises(InputError, match=r"custom_id 'a' is on line 1 and again on line 3"):
        scan_input(source)


def test_a_missing_input_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the input file"):
        scan_input(tmp_path / "absent.jsonl")


def test_id_set_holds_many_ids_by_hash() -> None:
    ids = IdSet()
    assert all(ids.add(f"row-{n}") for n in range(5000))  # grows past its first table
    assert not ids.add("row-17")
    assert len(ids) == 5000
    assert "row-4999" in ids
    assert "row-5000" not in ids
    assert 17 not in ids


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM: the first request must still be read as JSON."""
    source = tmp_path / "in.jsonl"
    line = {"custom_id": "first", "body": {"messages": [{"role": "user", "content": "hi"}]}}
    source.write_bytes(b"\xef\xbb\xbf" + json.dumps(line).encode() + b"\r\nsecond\r\n")
    rows = [parse_line(number, raw) for number, raw in numbered_lines(source)]
    assert isinstance(rows[0], Row)
    assert rows[0].custom_id == "first"
    assert rows[0].messages == [HumanMessage("hi")]
    assert isinstance(rows[1], Row)
    assert rows[1].messages == [HumanMessage("second")]


def test_json_nested_too_deep_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    deep = b'{"custom_id": "d", "prompt": "p", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    row = parse_line(4, deep)
    assert isinstance(row, BadRow)
    assert row.problem.startswith("line 4 is not valid JSON")
    assert "too deep" in row.problem
    assert custom_id_of(4, deep) == "line-4"
    source = tmp_path / "in.jsonl"
    source.write_bytes(deep + b"\n" + b'{"custom_id": "ok", "prompt": "p"}\n')
    assert scan_input(source) == 2


def test_metadata_is_run_metadata_and_other_body_fields_are_per_call_options() -> None:
    """OpenAI batch files carry `store`, `service_tier` and `metadata`: they must run
    unchanged (the model drops OpenAI's defaults: test_batch_run checks the bodies)."""
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "store": False,
        "service_tier": "auto",
        "metadata": {"experiment": "e1"},
        "temperature": 0.2,
    }
    row = _parse({"custom_id": "a", "body": body})
    assert isinstance(row, Row)
    assert row.params == {"store": False, "service_tier": "auto", "temperature": 0.2}
    assert row.metadata == {"experiment": "e1"}


def test_metadata_that_is_not_an_object_is_a_bad_line() -> None:
    row = _parse({"custom_id": "a", "messages": [{"role": "user", "content": "x"}], "metadata": 3})
    assert isinstance(row, BadRow)
    assert "metadata must be a JSON object" in row.problem
