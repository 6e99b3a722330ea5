"""Tool binding and structured output for W&B Inference.

LangChain tool and schema forms -> W&B request fields; answers -> values that fit the
schema, or a typed error that says why they cannot.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Annotated, Any, Literal, Self, cast

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    BaseMessageChunk,
    message_chunk_to_message,
)
from langchain_core.output_parsers import (
    BaseCumulativeTransformOutputParser,
    BaseOutputParser,
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableMap,
    RunnablePassthrough,
    RunnableSerializable,
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.json import parse_json_markdown
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, SkipValidation, TypeAdapter
from typing_extensions import is_typeddict

from langchain_wandb._errors import ToolCallCutOffError, excerpt
from langchain_wandb._json import loads_lenient
from langchain_wandb.models import lookup

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool
StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]
_PASSTHROUGH_CHOICES = {"auto", "none", "required"}
_EXCERPT = 200  # characters of an answer quoted in an error


_STRUCTURED = "the structured output"


class OutputTruncatedError(OutputParserException):
    """The answer was cut off at the token limit (`finish_reason="length"`), so not parsed.

    Structured output raises it instead of parsing an answer the limit cut short, however
    plausible its beginning (`{"name": "Ada", "age": 3` is not a person aged 3). As an
    `OutputParserException` it lands in `parsing_error` with `include_raw=True` and is what
    LangChain's parse-failure handling catches. The message names the model, `max_tokens`
    and the reasoning tokens spent; `ai_message` is the cut-off message as it arrived.
    """

    ai_message: AIMessage
    """The cut-off message: text, reasoning, tool-call fragments and usage."""
    max_tokens: int | None
    """The `max_tokens` the request was sent with (None: not set)."""

    @classmethod
    def from_message(
        cls, ai_message: AIMessage, *, max_tokens: int | None, what: str = _STRUCTURED
    ) -> Self:
        """Build the error for a message whose `finish_reason` is `"length"`.

        Args:
            ai_message: The cut-off message.
            max_tokens: The `max_tokens` the request was sent with.
            what: What was cut off, for the text ("the tool call to 'f'").
        """
        text = _truncation_text(ai_message, max_tokens, what)
        error = cls(text, llm_output=_answer_text(ai_message))
        error.ai_message = ai_message
        error.max_tokens = max_tokens
        return error


def _truncation_text(message: AIMessage, max_tokens: int | None, what: str) -> str:
    outcome = "it was not parsed" if what == _STRUCTURED else "the call cannot run"
    model = str(message.response_metadata.get("model_name") or "") or "The model"
    budget = (
        f"max_tokens={max_tokens}"
        if max_tokens is not None
        else "max_tokens is not set, so the server's limit applied"
    )
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    spent = ""
    if output_tokens := usage.get("output_tokens"):
        reasoning = (usage.get("output_token_details") or {}).get("reasoning") or 0
        spent = f"; {output_tokens} output tokens"
        spent += f", {reasoning} of them reasoning" if reasoning else ""
    mode = lookup(model).reasoning
    if mode == "none":
        advice = "Raise max_tokens."
    elif mode == "always":
        advice = (
            "Raise max_tokens, or shorten the reasoning with reasoning_effort='low' (this "
            "model always reasons): reasoning tokens count against max_tokens."
        )
    else:
        advice = (
            "Raise max_tokens, or switch reasoning off (reasoning=False) or shorten it "
            "(reasoning_effort='low'): reasoning tokens count against max_tokens."
        )
    return (
        f"{model}'s answer was cut off before {what} was complete "
        f"(finish_reason='length', {budget}{spent}), so {outcome}. {advice} "
        "The cut-off message is in `error.ai_message`."
    )


def _answer_text(message: AIMessage) -> str:
    """The text the answer is in: the content, else the first tool call's arguments."""
    if message.text:
        return message.text
    for invalid in message.invalid_tool_calls:
        return str(invalid.get("args") or "")
    for call in message.tool_calls:
        return json.dumps(call["args"])
    return ""


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
    if _is_response_format(schema):
        return cast("dict[str, Any]", schema)
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


class StructuredOutputParser(BaseCumulativeTransformOutputParser[Any]):
    """Parse a structured answer: partial objects while it streams, a checked value at the end.

    The final value comes from strict JSON (no repair of unclosed brackets) that fits the
    schema, or an error: `OutputTruncatedError` for an answer cut off at `max_tokens`,
    `OutputParserException` for JSON that is incomplete, does not fit, or is missing
    (a function_calling answer in prose). Streaming yields the partial objects of
    `partial_parser` as they grow, then the checked value (or raises).
    """

    partial_parser: Annotated[BaseOutputParser[Any], SkipValidation()]
    """The lenient parser for the partial objects yielded while streaming."""
    answer_schema: Annotated[Any, SkipValidation()] = None
    """The schema the final value must fit (None: any JSON, for `json_mode`)."""
    schema_name: str = "JSON"
    """The schema's name, for error messages."""
    tool_name: str | None = None
    """For `function_calling`: the tool whose arguments are the answer."""
    max_tokens: int | None = None
    """The `max_tokens` requests are sent with, for the truncation message."""

    @property
    def _type(self) -> str:
        return "wandb_structured_output"

    def parse(self, text: str) -> Any:
        """Parse an answer given as text (no message, so no finish reason to check)."""
        return self.parse_result([Generation(text=text)])

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """A partial object (`partial=True`), else the checked final value.

        Raises:
            OutputTruncatedError: If the answer was cut off at the token limit.
            OutputParserException: If the answer is not JSON that fits the schema, or
                function_calling got no call to its tool.

        """
        if partial:
            try:
                return self.partial_parser.parse_result(result, partial=True)
            except RecursionError:  # core's partial-JSON parser recurses once per level
                return None  # no partial object; the final parse says it is too deep

        generation = result[0]
        message = generation.message if isinstance(generation, ChatGeneration) else None
        if not isinstance(message, AIMessage):
            return self._check(_strict_json(generation.text, self.schema_name))
        if message.response_metadata.get("finish_reason") == "length":
            raise OutputTruncatedError.from_message(message, max_tokens=self.max_tokens)
        if self.tool_name is None:
            return self._check(_strict_json(message.text, self.schema_name))
        return self._check(_tool_arguments(message, self.tool_name))

    def _check(self, value: Any) -> Any:
        try:
            return _fit(self.answer_schema, value)
        except (ValueError, TypeError) as error:  # pydantic's ValidationError is a ValueError
            raise OutputParserException(
                f"The answer does not fit {self.schema_name}: {error}",
                llm_output=json.dumps(value),
            ) from error

    def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[Any]:
        answer = _StreamedAnswer(self)
        for chunk in input:
            yield from answer.add(chunk)
        yield from answer.finish()

    async def _atransform(self, input: AsyncIterator[str | BaseMessage]) -> AsyncIterator[Any]:
        answer = _StreamedAnswer(self)
        async for chunk in input:
            for parsed in answer.add(chunk):
                yield parsed
        for parsed in answer.finish():
            yield parsed


class _StreamedAnswer:
    """The answer as it streams in: partial objects as they change, then the final value."""

    def __init__(self, parser: StructuredOutputParser) -> None:
        self.parser = parser
        self.generation: Generation | None = None
        self.last: Any = None

    def add(self, chunk: str | BaseMessage) -> Iterator[Any]:
        """Take one streamed part; yields the partial object if it changed."""
        piece: Generation
        if isinstance(chunk, BaseMessageChunk):
            piece = ChatGenerationChunk(message=chunk)
        elif isinstance(chunk, BaseMessage):  # a whole message (a non-streaming request)
            piece = ChatGeneration(message=chunk)
        else:
            piece = GenerationChunk(text=chunk)
        previous = self.generation
        self.generation = piece if previous is None else previous + piece  # type: ignore[operator]
        yield from self._changed(self.parser.parse_result([self.generation], partial=True))

    def finish(self) -> Iterator[Any]:
        """Yields the final value if it differs from the last partial one (or raises)."""
        if self.generation is not None:
            yield from self._changed(self.parser.parse_result([self.generation]))

    def _changed(self, parsed: Any) -> Iterator[Any]:
        if parsed is not None and parsed != self.last:
            self.last = parsed
            yield parsed


def _strict_json(text: str, schema_name: str) -> Any:
    try:
        # Lenient on control characters in strings, as models send them.
        return parse_json_markdown(text.strip(), parser=loads_lenient)
    except ValueError as error:  # JSONDecodeError is a ValueError
        raise OutputParserException(
            f"The answer for {schema_name} is not valid JSON: {excerpt(text, _EXCERPT)!r}",
            llm_output=text,
        ) from error


def _tool_arguments(message: AIMessage, tool_name: str) -> Any:
    for call in message.tool_calls:
        if call["name"] == tool_name:
            return call["args"]
    for invalid in message.invalid_tool_calls:
        if invalid.get("name") == tool_name:
            args = str(invalid.get("args") or "")
            raise OutputParserException(
                f"The arguments of the call to {tool_name!r} are not valid JSON: {args!r}",
                llm_output=args,
            )
    text = message.text
    quoted = excerpt(text, _EXCERPT)
    finish_reason = message.response_metadata.get("finish_reason")
    raise OutputParserException(
        f"The model answered in text instead of calling the tool {tool_name!r} "
        f"(finish_reason={finish_reason!r}): {quoted!r}. W&B documents only "
        "tool_choice='auto', so a forced call can be refused and retried as 'auto'; "
        "method='json_schema' (the default) constrains the answer on the server instead.",
        llm_output=text,
    )


def _fit(schema: Any, value: Any) -> Any:
    """`value` as the schema gives it: a model instance, or the JSON if it fits.

    Raises:
        ValueError: If the value does not fit (pydantic's errors included).

    """
    if schema is None:
        return value
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        if hasattr(schema, "model_validate"):
            return schema.model_validate(value)
        return schema.parse_obj(value)  # type: ignore[attr-defined]  # pydantic v1
    if is_typeddict(schema):
        TypeAdapter(schema).validate_python(value)
        return value
    if mismatch := _json_schema_mismatch(_json_schema_of(schema), value):
        raise ValueError(mismatch)
    return value


def _json_schema_of(schema: dict[str, Any]) -> dict[str, Any]:
    if _is_response_format(schema):
        return dict(schema["json_schema"].get("schema") or {})
    return dict(convert_to_openai_tool(schema)["function"].get("parameters") or {})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# JSON Schema's types: a number with a zero fraction (36.0) is an integer; booleans are
# neither numbers nor integers.
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: (
        _is_number(value) and (isinstance(value, int) or float(value).is_integer())
    ),
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


def _json_equal(left: Any, right: Any) -> bool:
    """JSON Schema equality (for `enum`): 1 equals 1.0, but true does not equal 1.

    At any depth; an enum's values are the schema's, so this recurses no deeper than they go.
    """
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _json_schema_mismatch(
    schema: dict[str, Any], value: Any, root: dict[str, Any] | None = None, path: str = "the answer"
) -> str | None:
    """Why `value` does not fit a JSON schema (types, required keys, enums), else None.

    A small subset of JSON Schema, enough to refuse what cannot be right; keywords it does
    not know are not checked.
    """
    root = schema if root is None else root
    if isinstance(ref := schema.get("$ref"), str):
        schema = _resolve_ref(ref, root)
    for key in ("anyOf", "oneOf"):
        if options := schema.get(key):
            if all(_json_schema_mismatch(option, value, root, path) for option in options):
                return f"{path} fits none of the {key} options"
            return None
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if kinds and not any(_JSON_TYPES.get(kind, lambda _: True)(value) for kind in kinds):
        return f"{path} should be {' or '.join(kinds)}, got {json.dumps(value)[:_EXCERPT]}"
    if "enum" in schema and not any(_json_equal(value, item) for item in schema["enum"]):
        return f"{path} should be one of {schema['enum']}, got {json.dumps(value)[:_EXCERPT]}"
    return _members_mismatch(schema, value, root, path)


def _members_mismatch(
    schema: dict[str, Any], value: Any, root: dict[str, Any], path: str
) -> str | None:
    """Why an object's keys or an array's items do not fit, else None."""
    if isinstance(value, dict):
        if missing := [key for key in schema.get("required") or [] if key not in value]:
            return f"{path} lacks the required {', '.join(map(repr, missing))}"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value and (error := _json_schema_mismatch(sub, value[key], root, key)):
                return error
    if isinstance(value, list) and isinstance(items := schema.get("items"), dict):
        for position, item in enumerate(value):
            if error := _json_schema_mismatch(items, item, root, f"{path}[{position}]"):
                return error
    return None


def _resolve_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


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
    trace_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    bound: Runnable[LanguageModelInput, BaseMessage]
    if method == "function_calling":
        bound = model.bind_tools(
            [schema],
            tool_choice=convert_to_openai_tool(schema)["function"]["name"],
            parallel_tool_calls=False,
            strict=strict,
            ls_structured_output_format=trace_format,
            **kwargs,
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
    max_tokens = kwargs.get("max_tokens", kwargs.get("max_completion_tokens"))
    output_parser = structured_output_parser(
        schema,
        method=method,
        max_tokens=getattr(model, "max_tokens", None) if max_tokens is None else max_tokens,
    )
    if method == "function_calling":
        bound = _CutOffToolCallAsAnswer(bound=bound, parser=output_parser, name=bound.get_name())
    if not include_raw:
        return bound | output_parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | output_parser, parsing_error=lambda _: None
    )
    no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parse.with_fallbacks([no_parse], exception_key="parsing_error")


class _CutOffToolCallAsAnswer(RunnableSerializable[LanguageModelInput, BaseMessage]):
    """The bound model of `function_calling`, with a cut-off tool call reported as its answer.

    The model raises for a tool call cut off mid-arguments (an agent would otherwise end
    quietly, or run half the arguments). Here that call is the structured answer, so
    `invoke` returns the cut-off message for the parser to refuse in its own words (and
    with `include_raw`, keep as `raw`); a stream, which has already yielded the message's
    chunks, raises the parser's error at its end.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    bound: Runnable[LanguageModelInput, BaseMessage]
    """The model, tools bound."""
    parser: StructuredOutputParser
    """The parser that refuses the cut-off answer."""

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> BaseMessage:
        """The model's message; a cut-off tool call's message instead of its error."""
        try:
            return self.bound.invoke(input, config, **kwargs)
        except _CUT_OFF as error:
            return _cut_off_message(error)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> BaseMessage:
        """Async `invoke`."""
        try:
            return await self.bound.ainvoke(input, config, **kwargs)
        except _CUT_OFF as error:
            return _cut_off_message(error)

    def stream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[BaseMessage]:
        """The model's chunks; a cut-off tool call raises the parser's error at the end."""
        return self.transform(iter([input]), config, **kwargs)

    def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[BaseMessage]:
        """Async `stream`."""

        async def one() -> AsyncIterator[LanguageModelInput]:
            yield input

        return self.atransform(one(), config, **kwargs)

    def transform(
        self,
        input: Iterator[LanguageModelInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[BaseMessage]:
        """`stream` for a streamed input (as a step of a sequence)."""
        try:
            yield from self.bound.transform(input, config, **kwargs)
        except _CUT_OFF as error:
            raise self._refusal(error) from error

    async def atransform(
        self,
        input: AsyncIterator[LanguageModelInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[BaseMessage]:
        """Async `transform`."""
        try:
            async for chunk in self.bound.atransform(input, config, **kwargs):
                yield chunk
        except _CUT_OFF as error:
            raise self._refusal(error) from error

    def _refusal(self, error: OutputTruncatedError | ToolCallCutOffError) -> Exception:
        """The parser's error for the cut-off answer; the model's own if the parser has none.

        (The parser takes the answer when the named tool's call is whole and another,
        cut-off call was not the answer.)
        """
        try:
            self.parser.parse_result([ChatGeneration(message=_cut_off_message(error))])
        except OutputParserException as refusal:
            return refusal
        return error


_CUT_OFF = (OutputTruncatedError, ToolCallCutOffError)


def _cut_off_message(error: OutputTruncatedError | ToolCallCutOffError) -> AIMessage:
    if isinstance(error, OutputTruncatedError):
        return error.ai_message
    return cast("AIMessage", message_chunk_to_message(cast("AIMessageChunk", error.partial)))


def structured_output_parser(
    schema: Any, *, method: StructuredMethod, max_tokens: int | None = None
) -> StructuredOutputParser:
    """The parser `with_structured_output` ends with, for one schema and method.

    Args:
        schema: The schema the answer must fit (None only for `json_mode`).
        method: Where the answer is: tool arguments (`function_calling`) or the text.
        max_tokens: The token limit requests are sent with, named when an answer is cut off.

    """
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    name = _schema_name(schema)
    partial_parser: Annotated[BaseOutputParser[Any], SkipValidation()]
    if method == "function_calling":
        partial_parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    else:
        partial_parser = (
            PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
        )
    return StructuredOutputParser(
        partial_parser=partial_parser,
        answer_schema=schema,
        schema_name=name,
        tool_name=name if method == "function_calling" else None,
        max_tokens=max_tokens,
    )


def _schema_name(schema: Any) -> str:
    if schema is None:
        return "JSON"
    if _is_response_format(schema):  # a ready-made response_format names its schema
        return str(schema["json_schema"].get("name") or "JSON")
    return str(convert_to_openai_tool(schema)["function"]["name"])


def _is_response_format(schema: Any) -> bool:
    return (
        isinstance(schema, dict) and schema.get("type") == "json_schema" and "json_schema" in schema
    )


def parse_structured(message: BaseMessage, schema: Any) -> Any:
    """The checked value of an answer to `response_format=schema`.

    As `with_structured_output` gives it; ChatOpenAI puts it in `additional_kwargs["parsed"]`.

    Raises:
        OutputTruncatedError: If the answer was cut off at the token limit.
        OutputParserException: If the answer is not JSON that fits the schema.

    """
    parser = structured_output_parser(schema, method="json_schema")
    return parser.parse_result([ChatGeneration(message=message)])
