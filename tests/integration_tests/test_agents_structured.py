"""Agents' structured responses when the structured-response tool call is cut off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_wandb import OutputTruncatedError
from langchain_wandb.testing import Reply, ToolCallReply, WandbEmulator

if TYPE_CHECKING:
    from langchain.agents.middleware.types import InputAgentState


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is sunny in {city}."


class Report(BaseModel):
    """A weather report."""

    city: str
    summary: str


INPUTS: InputAgentState = {"messages": [HumanMessage("Weather in 'Paris'?")]}


def test_cut_off_arguments_that_do_not_fit_are_retried(emulator: WandbEmulator) -> None:
    from langchain.agents import create_agent

    emulator.script(
        Reply(
            tool_calls=[ToolCallReply("Report", '{"city": "Paris"}', id="c1")],
            finish_reason="length",
        ),
        Reply(tool_calls=[ToolCallReply("Report", {"city": "Paris", "summary": "Sunny"}, id="c2")]),
    )
    agent = create_agent(
        emulator.chat_model(max_retries=0), tools=[get_weather], response_format=Report
    )
    result = agent.invoke(INPUTS)
    retry = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert "Failed to parse structured output for tool 'Report'" in str(retry.content)
    assert result["structured_response"] == Report(city="Paris", summary="Sunny")


def test_cut_off_structured_response_call_is_an_error(emulator: WandbEmulator) -> None:
    from langchain.agents import create_agent

    emulator.script(
        Reply(
            tool_calls=[ToolCallReply("Report", '{"city": "Paris", "summ', id="c1")],
            finish_reason="length",
        )
    )
    agent = create_agent(
        emulator.chat_model(max_retries=0), tools=[get_weather], response_format=Report
    )
    with pytest.raises(
        OutputTruncatedError,
        match=r"cut off before the tool call to 'Report' was complete \(finish_reason='length'",
    ):
        agent.invoke(INPUTS)
