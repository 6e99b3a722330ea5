"""Tool binding and structured output: LangChain tool/schema forms -> W&B request fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool
StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]
_PASSTHROUGH_CHOICES = {"auto", "none", "required"}


def format_tools(tools: Sequence[ToolLike], *, strict: bool | None) -> list[dict[str, Any]]:
    """Convert any LangChain tool form to OpenAI function-tool dicts."""
    return [convert_to_openai_tool(tool, strict=strict) for tool in tools]


def tool_choice_field(
    tool_choice: dict[str, Any] | str | bool | None, tool_names: list[str]
) -> dict[str, Any] | str | None:
    """Normalize LangChain's `tool_choice` forms to the request field.

    A tool name -> the named-function form; `"any"` or `True` -> `"required"`;
    `"auto"`, `"none"`, `"required"` and dicts pass through; None/False -> not sent.

    Raises:
        ValueError: If a named tool is not among the bound tools.

    """
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice is True or tool_choice == "any":
        return "required"
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name")
        if name is not None:
            _check_name(name, tool_names)
        return tool_choice
    if isinstance(tool_choice, str):
        if tool_choice in _PASSTHROUGH_CHOICES:
            return tool_choice
        _check_name(tool_choice, tool_names)
        return {"type": "function", "function": {"name": tool_choice}}
    raise TypeError(f"tool_choice must be a str, bool or dict, got {type(tool_choice).__name__}.")


def _check_name(name: str, tool_names: list[str]) -> None:
    if name not in tool_names:
        raise ValueError(
            f"tool_choice names {name!r}, which is not among the bound tools {tool_names}."
        )


def json_schema_response_format(schema: Any, *, strict: bool | None) -> dict[str, Any]:
    """The `response_format` for W&B structured output (`json_schema`) from any schema form."""
    if isinstance(schema, dict) and schema.get("type") == "json_schema" and "json_schema" in schema:
        return schema
    function = convert_to_openai_tool(schema, strict=strict)["function"]
    json_schema: dict[str, Any] = {
        "name": function["name"],
        "schema": function.get("parameters", {}),
    }
    if function.get("description"):
        json_schema["description"] = function["description"]
    if strict is not None:
        json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


def structured_output_runnable(
    model: BaseChatModel,
    schema: Any,
    *,
    method: StructuredMethod,
    include_raw: bool,
    strict: bool | None,
    **kwargs: Any,
) -> Runnable[LanguageModelInput, Any]:
    """Build `model.with_structured_output(...)`: bound model | parser (| raw/parsed map)."""
    if method not in ("function_calling", "json_schema", "json_mode"):
        raise ValueError(
            f"Unknown method {method!r}; use 'json_schema', 'function_calling' or 'json_mode'."
        )
    if schema is None and method != "json_mode":
        raise ValueError(f"method={method!r} needs a schema; only 'json_mode' works without one.")
    if strict is not None and method == "json_mode":
        raise ValueError("`strict` does not apply to method='json_mode'.")
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    trace_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    output_parser: Runnable[AIMessage, Any]
    bound: Runnable[LanguageModelInput, AIMessage]
    if method == "function_calling":
        tool_name = convert_to_openai_tool(schema)["function"]["name"]
        bound = model.bind_tools(
            [schema],
            tool_choice=tool_name,
            parallel_tool_calls=False,
            strict=strict,
            ls_structured_output_format=trace_format,
            **kwargs,
        )
        output_parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
        )
    else:
        response_format = (
            {"type": "json_object"}
            if method == "json_mode"
            else json_schema_response_format(schema, strict=strict)
        )
        bound = model.bind(
            response_format=response_format, ls_structured_output_format=trace_format, **kwargs
        )
        output_parser = (
            PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
        )
    if not include_raw:
        return bound | output_parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | output_parser, parsing_error=lambda _: None
    )
    no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parse.with_fallbacks([no_parse], exception_key="parsing_error")
