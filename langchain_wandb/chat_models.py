"""`ChatWandbInference`: LangChain's chat model for W&B Inference."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env
from langchain_core.utils.utils import _build_model_kwargs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from typing_extensions import Self

from langchain_wandb import _clients, _transport
from langchain_wandb._chunks import keep_partial, response_to_result
from langchain_wandb._messages import check_request_params, messages_to_dicts
from langchain_wandb._quirks import (
    apply_reasoning_switch,
    check_reasoning_switch,
    use_max_tokens,
    warn_if_deprecated,
)
from langchain_wandb._retry import callback_hook
from langchain_wandb._serialization import allow_loading
from langchain_wandb._sse import adecode_lines, decode_lines
from langchain_wandb.models import WandbModel, lookup

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    # Tool and structured-output helpers import output parsers: loaded on first use.
    from langchain_wandb._tools import StructuredMethod, ToolLike

DEFAULT_BASE_URL = "https://api.inference.wandb.ai/v1"
DEFAULT_MODEL = "openai/gpt-oss-120b"
_CHARS_PER_TOKEN = 4.0  # langchain-core's count_tokens_approximately default
_PROJECT_PATTERN = re.compile(r"^[^/\s]+/[^/\s]+$")
_MISSING_KEY = (
    "No W&B API key: set the WANDB_API_KEY environment variable or pass api_key=... "
    "(get a key at https://wandb.ai/authorize)."
)


class ChatWandbInference(BaseChatModel):
    r"""Chat model for W&B Inference, streaming tokens, reasoning and usage as they arrive.

    Setup:
        Install `langchain-wandb` and set your W&B API key:

        ```bash
        pip install -U "langchain-wandb[fast]"
        export WANDB_API_KEY="your-api-key"   # https://wandb.ai/authorize
        ```

    Key init args — completion params:
        model: Model id as W&B serves it, e.g. `"openai/gpt-oss-120b"` (alias `model_name`).
        temperature: Sampling temperature.
        max_tokens: Max tokens to generate (reasoning tokens count against it).
        reasoning_effort: `"low"`, `"medium"` or `"high"` for models that accept it.
        stream_usage: Whether streamed responses report token usage (default True).

    Key init args — client params:
        api_key: W&B API key; defaults to `WANDB_API_KEY`.
        project: W&B `"team/project"` that usage is attributed to; defaults to
            `WANDB_INFERENCE_PROJECT`.
        base_url: Endpoint; defaults to `WANDB_INFERENCE_BASE_URL` or W&B's public URL.
        timeout: Total seconds a request may take; `stream_idle_timeout` limits silence.
        max_retries: Retries for 429/5xx/connection errors before the first byte.

    Errors:
        Failures raise langchain-core's typed errors (`ModelRateLimitError`,
        `ModelAuthenticationError`, ...), which are also the openai SDK's types. A
        stream that breaks off raises `StreamEndedEarlyError` rather than ending short.

    Instantiate:
        ```python
        from langchain_wandb import ChatWandbInference

        llm = ChatWandbInference(model="openai/gpt-oss-120b", temperature=0.2)
        ```

    Invoke:
        ```python
        msg = llm.invoke([("system", "Be brief."), ("human", "Why is the sky blue?")])
        print(msg.content)
        ```

        `invoke()` streams under the hood and returns the merged message, because
        non-streaming requests to reasoning models can time out while the model thinks.
        Set `streaming=False` to send plain requests instead.

    Stream:
        ```python
        for chunk in llm.stream("Tell me a rambling joke"):
            print(chunk.content, end="", flush=True)
        ```

    Async:
        ```python
        msg = await llm.ainvoke("Hello")
        async for chunk in llm.astream("Hello"):
            print(chunk.content, end="")
        ```

    Tool calling:
        ```python
        from langchain_core.tools import tool


        @tool
        def get_weather(city: str) -> str:
            '''Get the weather in a city.'''
            return f"Sunny in {city}"


        msg = llm.bind_tools([get_weather]).invoke("Weather in Paris?")
        msg.tool_calls  # [{'name': 'get_weather', 'args': {'city': 'Paris'}, ...}]
        ```

        Agents: `langchain.agents.create_agent(llm, tools=[get_weather])`.

    Structured output:
        ```python
        from pydantic import BaseModel


        class Person(BaseModel):
            name: str
            age: int


        llm.with_structured_output(Person).invoke("Ada Lovelace was 36.")
        # Person(name='Ada Lovelace', age=36)
        ```

    Reasoning:
        Reasoning text is kept in `additional_kwargs["reasoning_content"]` and appears
        as a `reasoning` block in `msg.content_blocks`.

    Token usage:
        ```python
        msg.usage_metadata
        # {'input_tokens': 12, 'output_tokens': 230, 'total_tokens': 242,
        #  'input_token_details': {'cache_read': 0},
        #  'output_token_details': {'reasoning': 180}}
        ```

    Response metadata:
        ```python
        msg.response_metadata
        # {'model_provider': 'wandb', 'model_name': 'openai/gpt-oss-120b',
        #  'id': 'chatcmpl-...', 'finish_reason': 'stop'}
        ```
    """

    model_config = ConfigDict(populate_by_name=True)

    model_name: str = Field(default=DEFAULT_MODEL, alias="model")
    """Model id, as listed by `GET /models` (LoRA: `wandb-artifact:///team/project/name:v0`)."""
    api_key: SecretStr = Field(
        default_factory=secret_from_env("WANDB_API_KEY", error_message=_MISSING_KEY),
        validate_default=True,
    )
    """W&B API key; defaults to the `WANDB_API_KEY` environment variable."""
    base_url: str = Field(
        default_factory=from_env("WANDB_INFERENCE_BASE_URL", default=DEFAULT_BASE_URL)
    )
    """API base URL; defaults to `WANDB_INFERENCE_BASE_URL`, else W&B's public endpoint."""
    project: str | None = Field(default_factory=from_env("WANDB_INFERENCE_PROJECT", default=None))
    """W&B `team/project` for usage attribution (the `OpenAI-Project` header)."""
    temperature: float | None = None
    """Sampling temperature."""
    top_p: float | None = None
    """Nucleus sampling probability mass."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Maximum tokens to generate, reasoning tokens included (sent as `max_tokens`, the
    name W&B accepts; `max_completion_tokens`, ChatOpenAI's name, is accepted too)."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""
    seed: int | None = None
    """Seed for sampling, where the model supports it."""
    frequency_penalty: float | None = None
    """Penalty for tokens by how often they already appeared."""
    presence_penalty: float | None = None
    """Penalty for tokens that already appeared."""
    logprobs: bool | None = None
    """Return token log probabilities, in `response_metadata["logprobs"]`."""
    top_logprobs: int | None = Field(default=None, ge=0)
    """How many likeliest alternatives to report per token (needs `logprobs=True`)."""
    reasoning: bool | None = None
    """Switch thinking on (`True`) or off (`False`) where W&B allows it
    (`chat_template_kwargs.enable_thinking`); `None` keeps the model's default. Always-
    reasoning models (gpt-oss, Kimi, MiniMax, Qwen-Thinking) reject `False`."""
    reasoning_effort: str | None = None
    """Reasoning effort (`low`/`medium`/`high`), passed through for models that use it."""
    cache_salt: str | None = None
    """W&B's prefix-cache salt: requests share cached prefixes only with the same salt."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request parameters; unknown constructor arguments are moved here."""
    extra_body: dict[str, Any] | None = None
    """Extra JSON merged into every request body (e.g. `chat_template_kwargs`)."""
    stream_usage: bool = True
    """Ask for token usage on streamed responses (`stream_options.include_usage`)."""
    streaming: bool = True
    """Whether `invoke()`/`batch()` stream under the hood (the default, and what W&B
    recommends for reasoning models). `False` sends non-streaming requests; note that
    LangChain then also makes `.stream()` yield the whole answer as one chunk."""
    max_retries: int = Field(default=2, ge=0)
    """Retries (with exponential backoff) for 429, 5xx and connection errors."""
    timeout: float = Field(default=1800.0, gt=0, alias="request_timeout")
    """Total seconds one request may take, stream included. Generous because a long
    reasoning answer (tens of thousands of tokens) can stream for many minutes; a
    silent server is caught sooner by `stream_idle_timeout`."""
    stream_idle_timeout: float = Field(default=120.0, gt=0)
    """Seconds a stream may stay silent (reasoning models can think a while first)."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_args_to_model_kwargs(cls, values: dict[str, Any]) -> Any:
        values = dict(values)
        use_max_tokens(values)
        return _build_model_kwargs(values, get_pydantic_field_names(cls))

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        check_reasoning_switch(self.model_name, self.reasoning)
        warn_if_deprecated(self.model_name)
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        info = lookup(self.model_name)
        return info.profile() if info.known else None

    @field_validator("api_key")
    @classmethod
    def _check_api_key(cls, api_key: SecretStr) -> SecretStr:
        if not api_key.get_secret_value().strip():
            raise ValueError(_MISSING_KEY.replace("No W&B API key", "The W&B API key is empty"))
        return api_key

    @field_validator("project")
    @classmethod
    def _check_project(cls, project: str | None) -> str | None:
        if project and not _PROJECT_PATTERN.match(project):
            raise ValueError(
                f"project must be 'team/project' (your W&B entity and project), got {project!r}."
            )
        return project or None

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, base_url: str) -> str:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}.")
        return base_url.rstrip("/")

    # -- LangChain plumbing -------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "wandb-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Return True: the model can be serialized with `langchain_core.load`."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Return the namespace used when serializing: `["langchain_wandb", "chat_models"]`."""
        return ["langchain_wandb", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Map the API key to its environment variable for serialization."""
        return {"api_key": "WANDB_API_KEY"}

    @property
    def _default_params(self) -> dict[str, Any]:
        params = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": self.stop or None,
            "seed": self.seed,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "logprobs": self.logprobs,
            "top_logprobs": self.top_logprobs,
            "reasoning_effort": self.reasoning_effort,
            "cache_salt": self.cache_salt,
        }
        return {
            **{key: value for key, value in params.items() if value is not None},
            **self.model_kwargs,
        }

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = {**self._default_params, **kwargs}
        ls_params = LangSmithParams(
            ls_provider="wandb",
            ls_model_name=str(kwargs.get("model") or self.model_name),
            ls_model_type="chat",
        )
        if (temperature := params.get("temperature")) is not None:
            ls_params["ls_temperature"] = temperature
        if (max_tokens := params.get("max_tokens")) is not None:
            ls_params["ls_max_tokens"] = max_tokens
        if ls_stop := stop or params.get("stop"):
            ls_params["ls_stop"] = ls_stop
        return ls_params

    # -- requests -----------------------------------------------------------------------
    @property
    def _client_config(self) -> _clients.ClientConfig:
        # Built per request (cheap) so that changing a field after construction counts.
        return _clients.ClientConfig(
            api_key=self.api_key.get_secret_value(),
            base_url=self.base_url,
            project=self.project,
            timeout=self.timeout,
            idle_timeout=self.stream_idle_timeout,
            max_retries=self.max_retries,
            headers=tuple(sorted((self.default_headers or {}).items())),
        )

    def _request_body(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        *,
        stream: bool,
        **kwargs: Any,
    ) -> dict[str, Any]:
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        reasoning = kwargs.pop("reasoning", self.reasoning)
        call_extra_body = kwargs.pop("extra_body", None) or {}
        body: dict[str, Any] = {
            "model": self.model_name,
            **self._default_params,
            **(self.extra_body or {}),
            **kwargs,
            **call_extra_body,
            "messages": messages_to_dicts(messages),
            "stream": stream,
        }
        if stop is not None:
            body["stop"] = stop
        if not body.get("stop"):
            body.pop("stop", None)
        if stream and stream_usage:
            body["stream_options"] = {"include_usage": True}
        use_max_tokens(body)
        if not isinstance(body.get("response_format", {}), dict):
            # A schema class, as ChatOpenAI accepts: send it as W&B's json_schema format.
            from langchain_wandb._tools import json_schema_response_format

            body["response_format"] = json_schema_response_format(
                body["response_format"], strict=None
            )
        apply_reasoning_switch(body, reasoning)
        check_request_params(body)
        return body

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._request_body(messages, stop, stream=True, **kwargs)
        received: list[ChatGenerationChunk] = []
        with (
            keep_partial(received),
            _transport.stream_lines(self._client_config, body, callback_hook(run_manager)) as lines,
        ):
            for chunk in decode_lines(lines, v1=self.output_version == "v1"):
                received.append(chunk)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        body = self._request_body(messages, stop, stream=True, **kwargs)
        received: list[ChatGenerationChunk] = []
        with keep_partial(received):
            async with _transport.astream_lines(
                self._client_config, body, callback_hook(run_manager)
            ) as lines:
                async for chunk in adecode_lines(lines, v1=self.output_version == "v1"):
                    received.append(chunk)
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            return generate_from_stream(
                self._stream(messages, stop, run_manager=run_manager, **kwargs)
            )
        body = self._request_body(messages, stop, stream=False, **kwargs)
        data = _transport.post_json(self._client_config, body, callback_hook(run_manager))
        return response_to_result(data)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            chunks = [
                chunk
                async for chunk in self._astream(messages, stop, run_manager=run_manager, **kwargs)
            ]
            return generate_from_stream(iter(chunks))
        body = self._request_body(messages, stop, stream=False, **kwargs)
        data = await _transport.apost_json(self._client_config, body, callback_hook(run_manager))
        return response_to_result(data)

    # -- tools and structured output -----------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, Pydantic models, TypedDicts, functions or dicts).

        Args:
            tools: The tools the model may call.
            tool_choice: A tool name (call that tool), `"auto"`, `"none"`, `"required"`
                (`"any"` and `True` mean `"required"`), or an OpenAI tool-choice dict.
            strict: Ask for schema-exact arguments (`function.strict`).
            parallel_tool_calls: Allow or forbid several calls in one turn.
            **kwargs: Other request fields to bind.

        Raises:
            ValueError: If `tool_choice` names a tool that is not bound.

        """
        from langchain_wandb._tools import format_tools, tool_choice_field

        formatted = format_tools(tools, strict=strict)
        names = [tool["function"]["name"] for tool in formatted]
        choice = tool_choice_field(tool_choice, names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return a runnable whose output matches `schema`.

        The default method is `"json_schema"`: W&B documents structured output with
        `response_format={"type": "json_schema", ...}` for its models, it constrains
        decoding server-side, works on reasoning models, and needs no tool choice
        (W&B documents only `tool_choice="auto"`, which `"function_calling"` cannot
        rely on to force the call).

        Args:
            schema: A Pydantic class (v2 or v1), TypedDict, JSON schema dict or OpenAI
                function/`json_schema` dict. Pydantic classes give instances, the rest dicts.
            method: `"json_schema"`, `"function_calling"` (a forced tool call) or
                `"json_mode"` (`{"type": "json_object"}`; describe the keys in the prompt).
            include_raw: Return `{"raw": AIMessage, "parsed": ..., "parsing_error": ...}`
                instead of raising on output that does not parse.
            strict: Ask the server for schema-exact output (not for `"json_mode"`).
            **kwargs: Other request fields to bind.

        """
        from langchain_wandb._tools import structured_output_runnable

        return structured_output_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )

    # -- token counting -----------------------------------------------------------------
    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Estimate the tokens `messages` (and `tools`) take, without a tokenizer.

        W&B's models use many tokenizers and none is shipped here, so this is
        langchain-core's `count_tokens_approximately` (about four characters a token,
        rescaled by the last `usage_metadata` in the history when there is one): good
        for `trim_messages(token_counter=llm)`. Exact counts arrive in `usage_metadata`.
        """
        from langchain_core.messages.utils import count_tokens_approximately

        from langchain_wandb._tools import format_tools

        schemas: list[BaseTool | dict[str, Any]] = [*format_tools(tools or [], strict=None)]
        return count_tokens_approximately(
            messages, tools=schemas or None, use_usage_metadata_scaling=True
        )

    def get_num_tokens(self, text: str) -> int:
        """Estimate the tokens in `text` (about four characters a token)."""
        return math.ceil(len(text) / _CHARS_PER_TOKEN)

    # -- models -------------------------------------------------------------------------
    def list_models(self) -> list[WandbModel]:
        """The models W&B serves now (`GET /models`), with catalogue data where known.

        Also the cheapest check of the key and project: a bad one raises
        `ModelAuthenticationError`.
        """
        entries = _transport.list_model_entries(self._client_config)
        return [lookup(entry["id"]) for entry in entries]

    async def alist_models(self) -> list[WandbModel]:
        """Async `list_models`."""
        entries = await _transport.alist_model_entries(self._client_config)
        return [lookup(entry["id"]) for entry in entries]

    # -- client lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections this model's configuration holds open (sync)."""
        _clients.close_sync_client(self._client_config)

    async def aclose(self) -> None:
        """Close this configuration's async HTTP connections on the running event loop."""
        await _clients.aclose_async_client(self._client_config)

    def __enter__(self) -> Self:
        """Use the model as a context manager that closes its connections on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the sync connections."""
        self.close()

    async def __aenter__(self) -> Self:
        """Use the model as an async context manager that closes its connections on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the async connections of the running loop."""
        await self.aclose()


allow_loading(ChatWandbInference)
