"""`ChatWandbInference`: LangChain's chat model for W&B Inference."""

from __future__ import annotations

import datetime
import logging
import math
import re
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import urlsplit

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env

# Private, read here as langchain-openai and langchain-groq read it: the one place core
# implements "unknown constructor arguments go to model_kwargs, with a warning".
from langchain_core.utils.utils import _build_model_kwargs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from langchain_wandb import _clients, _transport
from langchain_wandb._chunks import StreamState, keep_partial, response_to_result
from langchain_wandb._cost import add_cost
from langchain_wandb._errors import MalformedResponseError, excerpt
from langchain_wandb._json import json_loads
from langchain_wandb._openai_args import (
    check_call_options,
    check_headers,
    drop_openai_defaults,
    effort_as_field,
    looks_like_a_key,
    shown_value,
    translate_openai_args,
)
from langchain_wandb._request import (
    RequestOptions,
    build_body,
    check_reasoning_switch,
    reasoning_switch_is_moot,
    relaxed_tool_choice,
)
from langchain_wandb._results import combine_llm_outputs, with_generation_info, with_openai_outputs
from langchain_wandb._sse import adecode_stream, decode_stream
from langchain_wandb.models import PriceOverrides, WandbModel, check_not_retired, lookup

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import _ChatModelBinding
    from langchain_core.tools import BaseTool

    from langchain_wandb._governor import ConcurrencySnapshot
    from langchain_wandb._retry import RetryHook

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
logger = logging.getLogger("langchain_wandb")


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

    Coming from ChatOpenAI:
        Every `ChatOpenAI` argument works the same here, under its ChatOpenAI name too
        (`openai_api_key`, `max_completion_tokens`, `request_timeout`, ...), or is refused
        when the model is built, saying what to do instead (`organization`, `n=3`, ...).
        A misspelt argument raises, naming the one meant. `llm_output` and
        `generation_info` carry what ChatOpenAI's do.

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
        #  'output_token_details': {'reasoning': 180}}
        # ('input_token_details': {'cache_read': n} when W&B reports a prefix-cache hit)
        ```

    Response metadata:
        ```python
        msg.response_metadata
        # {'model_provider': 'wandb', 'model_name': 'openai/gpt-oss-120b',
        #  'id': 'chatcmpl-...', 'finish_reason': 'stop'}
        ```
    """

    # Validation errors never echo input values: one of them may be the API key.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    model_name: str = Field(default=DEFAULT_MODEL, alias="model")
    """Model id, as listed by `GET /models` (LoRA: `wandb-artifact:///team/project/name:v0`)."""
    api_key: SecretStr = Field(
        default_factory=secret_from_env("WANDB_API_KEY", error_message=_MISSING_KEY),
        validate_default=True,
    )
    """W&B API key; defaults to the `WANDB_API_KEY` environment variable. Surrounding
    whitespace (what reading a key file returns) is stripped."""
    base_url: str = Field(
        default_factory=from_env("WANDB_INFERENCE_BASE_URL", default=DEFAULT_BASE_URL),
        validate_default=True,
    )
    """API base URL; defaults to `WANDB_INFERENCE_BASE_URL`, else W&B's public endpoint."""
    project: str | None = Field(
        default_factory=from_env("WANDB_INFERENCE_PROJECT", default=None), validate_default=True
    )
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
    send_reasoning: bool | None = None
    """Send the reasoning of the tool loop in progress back with its assistant messages
    (as `reasoning_content`; reasoning of earlier, finished turns is never sent).
    `None`: only for models whose serving needs it (DeepSeek's thinking mode rejects a
    tool-loop turn without it; gpt-oss reads it)."""
    cache_salt: str | None = None
    """W&B's prefix-cache salt: requests share cached prefixes only with the same salt."""
    prices: PriceOverrides | None = None
    """Your prices by model id, over the packaged snapshot, for `response_metadata["cost"]`:
    a `ModelPrice` (USD per 1M tokens; negotiated rates), or a model id whose price
    applies (a LoRA id mapped to its base model, as W&B bills LoRA)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request parameters; unknown constructor arguments are moved here."""
    extra_body: dict[str, Any] | None = None
    """Extra JSON merged into every request body (e.g. `chat_template_kwargs`)."""
    stream_usage: bool = True
    """Whether the chunks `.stream()`/`.astream()` yield report token usage
    (`stream_options.include_usage`). `invoke()`/`batch()` always ask for usage."""
    streaming: bool = True
    """Whether `invoke()`/`batch()` stream under the hood (the default, and what W&B
    recommends for reasoning models). `False` sends non-streaming requests; note that
    LangChain then also makes `.stream()` yield the whole answer as one chunk."""
    max_retries: int = Field(default=2, ge=0)
    """Retries (with exponential backoff) for 429, 5xx and connection errors before the
    first byte of an answer. Refusals for W&B's concurrency limit are not counted: the
    request queues again (see `max_concurrency`). Each retry is logged on the
    `langchain_wandb` logger; callbacks' `on_retry` hears of it when LangChain hands the
    model its run (`invoke`/`batch`/agents), which `.stream()`/`.astream()` do not."""
    timeout: float = Field(default=1800.0, gt=0, allow_inf_nan=False, alias="request_timeout")
    """Total seconds one request may take, whatever the server does: waiting for a
    concurrency slot, every attempt, the waits between retries, and the whole streamed
    answer. Retries stop when the time is up (the last error is raised); a stream still
    running is cut off with `StreamTimeoutError`, keeping what arrived in `.partial`.
    Generous because a long reasoning answer can stream for many minutes. (One limit:
    on the sync path, while the response headers are still arriving, each read is
    bounded by `stream_idle_timeout` rather than by what is left of `timeout`.)"""
    stream_idle_timeout: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    """Seconds the server may stay silent (before the first byte too: reasoning models
    think a while first); never more than what is left of `timeout`."""
    max_concurrency: int | None = Field(default=None, gt=0)
    """Hard cap on requests in flight from this process to this endpoint, project and
    model; more wait in a FIFO queue. `None`: learn W&B's limit from its 429s."""
    adaptive_concurrency: bool = True
    """Learn W&B's per-project concurrency limit from its 429s and queue requests to
    stay under it. `False`: only `max_concurrency` applies, and a concurrency 429 is
    retried like any other (within `max_retries`)."""
    governor_backend: Any = Field(default=None, exclude=True)
    """Where the concurrency limit is kept (a `GovernorBackend`): None, in this process;
    `langchain_wandb.ray.RayGovernorBackend()` shares one limit across Ray workers."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    http_client: Any = Field(default=None, exclude=True)
    """Your own `httpx2.Client` for sync calls (proxies, mTLS, custom transports)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """Your own `httpx2.AsyncClient` for async calls."""

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_args_to_model_kwargs(cls, values: dict[str, Any]) -> Any:
        # ChatOpenAI's names are renamed or refused first (see `_openai_args`).
        fields = get_pydantic_field_names(cls)
        return _build_model_kwargs(translate_openai_args(values, fields), fields)

    @model_validator(mode="after")
    def _check_model(self) -> Self:
        check_not_retired(self.model_name)
        check_reasoning_switch(self.model_name, self.reasoning)
        info = lookup(self.model_name)
        if info.status == "deprecated":
            instead = f"; W&B recommends {info.replacement}" if info.replacement else ""
            when = f" on {info.retired}" if info.retired else ""
            past = bool(info.retired) and str(info.retired) <= datetime.date.today().isoformat()
            fate = "was due to be retired" if past else "will be retired"
            gone = " (that day has passed: W&B may answer 404)" if past else ""
            warnings.warn(
                f"{self.model_name} is deprecated on W&B Inference and {fate}{when}{instead}"
                f"{gone}.",
                UserWarning,
                stacklevel=4,
            )
        return self

    @model_validator(mode="after")
    def _streaming_true_is_the_default(self) -> Self:
        # Said explicitly, `streaming=True` would make langchain-core run its own stream
        # loop, whose result has no `llm_output`; our `_generate` streams the same way.
        if self.streaming:
            self.model_fields_set.discard("streaming")
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        info = lookup(self.model_name)
        return info.profile() if info.known else None

    @field_validator("model_name")
    @classmethod
    def _check_model_name(cls, model: str) -> str:
        if not model.strip() or model != model.strip() or looks_like_a_key(model):
            # A key as model would travel in the body, and come back in W&B's 404.
            raise ValueError(
                f"model must be a W&B model id such as {DEFAULT_MODEL!r}, got {shown_value(model)} "
                "(list them with `python -m langchain_wandb --list-models`)."
            )
        return model

    @field_validator("api_key")
    @classmethod
    def _check_api_key(cls, api_key: SecretStr) -> SecretStr:
        key = api_key.get_secret_value().strip()
        if not key:
            raise ValueError(
                "The W&B API key is empty: set WANDB_API_KEY or pass api_key=... "
                "(get a key at https://wandb.ai/authorize)."
            )
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            # Said without the key: it would be shown in this very message.
            raise ValueError(
                "The W&B API key contains characters no key has (non-ASCII, control "
                "characters or spaces inside it); check WANDB_API_KEY or the key file."
            )
        return SecretStr(key)

    @field_validator("default_headers")
    @classmethod
    def _check_default_headers(cls, headers: dict[str, str] | None) -> dict[str, str] | None:
        check_headers(headers)
        return headers

    @field_validator("project")
    @classmethod
    def _check_project(cls, project: str | None) -> str | None:
        if project and not _PROJECT_PATTERN.match(project):
            # A key here (WANDB_API_KEY and WANDB_PROJECT mixed up) must not be printed.
            raise ValueError(
                "project must be 'team/project' (your W&B entity and project), got "
                f"{shown_value(project)}."
            )
        return project or None

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, base_url: str) -> str:
        parsed = urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got "
                f"{shown_value(base_url)} (from the argument or WANDB_INFERENCE_BASE_URL)."
            )
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
    def _client_config(self, *, asynchronous: bool = False) -> _clients.ClientConfig:
        # Built per request (cheap) so that changing a field after construction counts.
        return _clients.ClientConfig(
            api_key=self.api_key.get_secret_value(),
            base_url=self.base_url,
            project=self.project,
            headers=tuple(sorted((self.default_headers or {}).items())),
            http_client=self.http_async_client if asynchronous else self.http_client,
        )

    @property
    def _limits(self) -> _transport.RequestLimits:
        return _transport.RequestLimits(
            timeout=self.timeout,
            idle_timeout=self.stream_idle_timeout,
            max_retries=self.max_retries,
            max_concurrency=self.max_concurrency,
            adaptive_concurrency=self.adaptive_concurrency,
            governor_backend=self.governor_backend,
        )

    def _request_body(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        *,
        stream: bool,
        **kwargs: Any,
    ) -> dict[str, Any]:
        # Absent when LangChain streams on the caller's behalf (invoke, batch, agents):
        # usage is always asked for then; `stream`/`astream` pass the field (see below).
        check_call_options(kwargs)
        stream_usage = kwargs.pop("stream_usage", True)
        drop_openai_defaults(kwargs)
        effort_as_field(kwargs)
        reasoning = kwargs.pop("reasoning", self.reasoning)
        send_reasoning = kwargs.pop("send_reasoning", self.send_reasoning)
        call_extra_body = kwargs.pop("extra_body", None) or {}
        model = str(kwargs.pop("model", None) or self.model_name)
        check_not_retired(model)
        if reasoning_switch_is_moot(model, reasoning):
            warnings.warn(f"{model} does not reason; reasoning=True has no effect.", stacklevel=5)
        return build_body(
            RequestOptions(
                model=model,
                messages=messages,
                params={
                    **self._default_params,
                    **(self.extra_body or {}),
                    **kwargs,
                    **call_extra_body,
                },
                stop=stop,
                stream=stream,
                stream_usage=stream_usage,
                reasoning=reasoning,
                send_reasoning=send_reasoning,
            )
        )

    @contextmanager
    def _typed_errors(self, model: str) -> Iterator[None]:
        """Re-raise whatever a request raised as a typed, key-free error (sync or async)."""
        try:
            yield
        except Exception as error:
            from langchain_wandb._sdk_errors import to_typed_error

            typed = to_typed_error(
                error,
                model=model,
                secret=self.api_key.get_secret_value(),
                timeout=self.timeout,
                idle_timeout=self.stream_idle_timeout,
            )
            if typed is error:
                raise
            raise typed from error

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # A per-call `stream=True` (core streams because of it) is no request field.
        body = self._request_body(messages, stop, **{**kwargs, "stream": True})
        state = StreamState(v1=self.output_version == "v1")
        received: list[ChatGenerationChunk] = []
        # With a schema class as response_format, the closing chunk waits for `parsed`.
        schema = (
            kwargs.get("response_format") if _wants_parsed(kwargs.get("response_format")) else None
        )
        with (
            keep_partial(received),
            self._typed_errors(body["model"]),
            _transport.stream_bytes(
                self._client_config(), body, self._limits, _retry_hook(run_manager), _relaxed
            ) as chunks,
        ):
            for chunk in decode_stream(chunks, state):
                add_cost(chunk.message, body["model"], self.prices)
                received.append(chunk)
                with_generation_info(chunk)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                if not (schema and _is_closing(chunk)):
                    yield chunk
        _after_stream(state, body, received)
        if schema:
            yield _with_parsed(received, schema)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # A per-call `stream=True` (core streams because of it) is no request field.
        body = self._request_body(messages, stop, **{**kwargs, "stream": True})
        state = StreamState(v1=self.output_version == "v1")
        received: list[ChatGenerationChunk] = []
        # With a schema class as response_format, the closing chunk waits for `parsed`.
        schema = (
            kwargs.get("response_format") if _wants_parsed(kwargs.get("response_format")) else None
        )
        config = self._client_config(asynchronous=True)
        hook = _retry_hook(run_manager)
        with keep_partial(received), self._typed_errors(body["model"]):
            async with _transport.astream_bytes(
                config, body, self._limits, hook, _relaxed
            ) as chunks:
                async for chunk in adecode_stream(chunks, state):
                    add_cost(chunk.message, body["model"], self.prices)
                    received.append(chunk)
                    with_generation_info(chunk)
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    if not (schema and _is_closing(chunk)):
                        yield chunk
        _after_stream(state, body, received)
        if schema:
            yield _with_parsed(received, schema)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._streams(kwargs):
            result = generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
            return with_openai_outputs(result, self.model_name)
        body = self._request_body(messages, stop, stream=False, **kwargs)
        with self._typed_errors(body["model"]):
            data = _transport.post_json(
                self._client_config(), body, self._limits, _retry_hook(run_manager), _relaxed
            )
        return self._plain_result(data, body, kwargs.get("response_format"))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._streams(kwargs):
            stream = self._astream(messages, stop, run_manager, **kwargs)
            result = await agenerate_from_stream(stream)
            return with_openai_outputs(result, self.model_name)
        body = self._request_body(messages, stop, stream=False, **kwargs)
        config = self._client_config(asynchronous=True)
        hook = _retry_hook(run_manager)
        with self._typed_errors(body["model"]):
            data = await _transport.apost_json(config, body, self._limits, hook, _relaxed)
        return self._plain_result(data, body, kwargs.get("response_format"))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the answer; chunks report usage as `stream_usage` says (also per call)."""
        kwargs.setdefault("stream_usage", self.stream_usage)
        return super().stream(input, config, stop=stop, **kwargs)

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async `stream`."""
        kwargs.setdefault("stream_usage", self.stream_usage)
        return super().astream(input, config, stop=stop, **kwargs)

    def _plain_result(
        self, data: dict[str, Any], body: dict[str, Any], response_format: Any
    ) -> ChatResult:
        result = response_to_result(data)
        message = cast("AIMessage", result.generations[0].message)
        add_cost(message, body["model"], self.prices)
        finish_reason = message.response_metadata.get("finish_reason")
        _warn_if_thinking_ate_budget(
            str(message.response_metadata.get("model_name") or body["model"]),
            finish_reason,
            answered=bool(message.text or message.tool_calls or message.invalid_tool_calls),
            reasoned=bool(message.additional_kwargs.get("reasoning_content")),
        )
        wire_calls = (data["choices"][0].get("message") or {}).get("tool_calls") or []
        last_args = (wire_calls[-1].get("function") or {}).get("arguments") if wire_calls else None
        _raise_if_a_tool_call_was_cut_off(message, finish_reason, body, last_args)
        _raise_if_no_tool_call_came(message, finish_reason)
        if _wants_parsed(response_format):
            from langchain_wandb._tools import parse_structured

            message.additional_kwargs["parsed"] = parse_structured(message, response_format)
        return with_openai_outputs(result, self.model_name)

    def _streams(self, kwargs: dict[str, Any]) -> bool:
        """Whether this call streams under the hood; pops the per-call `stream` option.

        `disable_streaming` (LangChain's switch) wins, as in core: `True` always sends
        plain requests, `"tool_calling"` when tools are bound.
        """
        stream = kwargs.pop("stream", self.streaming)
        if self.disable_streaming is True:
            return False
        if self.disable_streaming == "tool_calling" and kwargs.get("tools"):
            return False
        return bool(stream)

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        return combine_llm_outputs(llm_outputs, self.model_name)

    def bind(self, **kwargs: Any) -> _ChatModelBinding:
        """Bind per-call options; those W&B cannot honour are refused here, not when called.

        Raises:
            ValueError: For several choices (`n` > 1), ChatOpenAI's Responses API options,
                or a credential-looking name (a key never travels in the body).
        """
        check_call_options(kwargs)
        return super().bind(**kwargs)

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
        tools: Sequence[ToolLike] | None = None,
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
            tools: Tools the model may call instead of answering, as with ChatOpenAI
                (`"json_schema"` only; use `include_raw=True` to see the calls).
            **kwargs: Other request fields to bind.

        Raises:
            ValueError: If `tools` are given with a method other than `"json_schema"`.

        """
        from langchain_wandb._tools import format_tools, structured_output_runnable

        if tools:
            if method != "json_schema":
                raise ValueError(
                    f"tools=[...] works with method='json_schema' only (as in ChatOpenAI), "
                    f"not {method!r}: the other methods use the tools field themselves."
                )
            kwargs["tools"] = format_tools(tools, strict=strict)
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

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids from `custom_get_token_ids`: no tokenizer ships with this package.

        W&B's models use many tokenizers, each a download; langchain-core's GPT-2
        fallback would give ids of the wrong vocabulary.

        Raises:
            NotImplementedError: If `custom_get_token_ids` is not set (the message says
                how to set it up with `transformers`).
        """
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        raise NotImplementedError(
            f"Token ids need {self.model_name}'s own tokenizer, and none ships with "
            "langchain-wandb (get_num_tokens estimates offline). Install one with "
            "`pip install transformers` and pass custom_get_token_ids="
            f"AutoTokenizer.from_pretrained({self.model_name!r}).encode "
            "(downloads the tokenizer from Hugging Face once)."
        )

    # -- models -------------------------------------------------------------------------
    def list_models(self) -> list[WandbModel]:
        """The models W&B serves now (`GET /models`), with catalogue data where known.

        Also the cheapest check of the key and project: a bad one raises
        `ModelAuthenticationError`.
        """
        with self._typed_errors("(list models)"):
            entries = _transport.list_model_entries(self._client_config(), self._limits)
        return [lookup(entry["id"]) for entry in entries]

    async def alist_models(self) -> list[WandbModel]:
        """Async `list_models`."""
        with self._typed_errors("(list models)"):
            entries = await _transport.alist_model_entries(
                self._client_config(asynchronous=True), self._limits
            )
        return [lookup(entry["id"]) for entry in entries]

    @property
    def concurrency(self) -> ConcurrencySnapshot:
        """The concurrency governor's state for this endpoint, project and model.

        The limit in force, requests in flight and queued: for progress displays.
        """
        return _transport.governor(self._client_config(), self.model_name, self._limits).snapshot()

    # -- client lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections this model's configuration holds open (sync)."""
        _clients.close_sync_client(self._client_config())

    async def aclose(self) -> None:
        """Close this configuration's async HTTP connections on the running event loop."""
        await _clients.aclose_async_client(self._client_config(asynchronous=True))

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


def _retry_hook(run_manager: Any) -> RetryHook | None:
    """A hook that reports retries to a LangChain run's callbacks (`on_retry`)."""
    if run_manager is None:
        return None

    # The transport hands it tenacity's genuine retry state (see `_retry._retry_state`).
    hook: RetryHook = run_manager.on_retry
    return hook


def _relaxed(body: dict[str, Any], error: BaseException) -> dict[str, Any] | None:
    """The body to send again when W&B refused a forced `tool_choice`, else None."""
    relaxed = relaxed_tool_choice(body, error)
    if relaxed is not None:
        logger.warning(
            "%s rejected tool_choice=%r; retrying with tool_choice='auto' (W&B documents "
            "only 'auto'). The model may answer without calling a tool.",
            body.get("model"),
            body.get("tool_choice"),
        )
    return relaxed


def _after_stream(
    state: StreamState, body: dict[str, Any], received: list[ChatGenerationChunk]
) -> None:
    """Check a finished stream: raise for a cut-off tool call, warn about what it lacked."""
    finish_reason = state.finish_reason
    if (
        state.has_tool_calls
        or finish_reason == "tool_calls"
        or (finish_reason == "length" and _forces_a_tool(body))
    ):
        from langchain_wandb._chunks import merge_strictly

        merged = merge_strictly([cast("AIMessageChunk", c.message) for c in received])
        _raise_if_no_tool_call_came(merged, finish_reason)
        chunks = merged.tool_call_chunks
        _raise_if_a_tool_call_was_cut_off(
            merged, finish_reason, body, chunks[-1]["args"] if chunks else None
        )
    if state.usage_lost and body.get("stream_options"):
        logger.warning(
            "The W&B stream closed after the answer finished but before its usage; "
            "token usage was not received."
        )
    _warn_if_thinking_ate_budget(
        state.model or str(body["model"]),
        finish_reason,
        answered=state.has_text or state.has_tool_calls,
        reasoned=state.has_reasoning,
    )


def _raise_if_no_tool_call_came(message: AIMessage, finish_reason: Any) -> None:
    """A reply that ends "to call tools" but carries none cannot be taken as an answer.

    vLLM does this when its tool parser cannot read what the model decoded (seen in the
    compatibility stage): passed on, it reads as an empty answer.

    Raises:
        MalformedResponseError: If `finish_reason` is "tool_calls" and no call arrived.
    """
    if finish_reason == "tool_calls" and not (message.tool_calls or message.invalid_tool_calls):
        error = MalformedResponseError(
            "W&B ended the answer with finish_reason='tool_calls' but sent no tool call "
            f"(the server could not parse it); the text that came: {excerpt(message.text)!r}"
        )
        error.partial = AIMessageChunk(
            content=message.content,
            additional_kwargs=message.additional_kwargs,
            response_metadata=message.response_metadata,
        )
        raise error


def _raise_if_a_tool_call_was_cut_off(
    message: AIMessage, finish_reason: Any, body: dict[str, Any], last_args: Any
) -> None:
    """A tool call cut off can never run: say so instead of ending quietly.

    Without this an agent sees no runnable tool call and stops, as if it had answered.
    At `max_tokens`, with a forced `tool_choice`, an answer cut off before any whole call
    counts too (vLLM then returns the raw `<tool_call>{...` text as content), and so does
    a last call whose arguments are not complete JSON (an empty string would otherwise
    run as `{}`). `last_args` is the last call's argument text as the server sent it.
    `message` lists calls as the server's text reads (see `merge_strictly`).

    Raises:
        OutputTruncatedError: If the answer stopped at `max_tokens` inside a tool call.
        MalformedResponseError: If it stopped for another reason with a call's arguments
            cut off mid-object.
    """
    if finish_reason == "length":
        cut = (
            bool(message.invalid_tool_calls)
            or (_forces_a_tool(body) and not message.tool_calls)
            or (isinstance(last_args, str) and not _is_whole_json(last_args))
        )
        if cut:
            _raise_truncated(_last_call_as_sent(message, last_args), body)
        return
    from langchain_wandb._chunks import is_cut_off_object
    from langchain_wandb._errors import ToolCallCutOffError

    for call in message.invalid_tool_calls:
        if is_cut_off_object(call.get("args") or ""):
            error = ToolCallCutOffError(
                f"W&B ended the answer (finish_reason={finish_reason!r}) with the tool call to "
                f"{call.get('name')!r} cut off before its arguments were complete: "
                f"{excerpt(call.get('args') or '')!r}"
            )
            error.partial = AIMessageChunk(**_message_fields(message))
            raise error


def _raise_truncated(message: AIMessage, body: dict[str, Any]) -> None:
    from langchain_wandb._tools import OutputTruncatedError

    # The call that was cut: an invalid one (a whole call may come before it), else the last.
    cut = message.invalid_tool_calls[-1:] or message.tool_calls[-1:]
    name = cut[0].get("name") if cut else None
    raise OutputTruncatedError.from_message(
        AIMessage(**_message_fields(message)),
        max_tokens=body.get("max_tokens"),
        what=f"the tool call to {name!r}" if name else "a tool call",
    )


def _last_call_as_sent(message: AIMessage, last_args: Any) -> AIMessage:
    """`message` with its last call listed invalid, with the server's text, if that was cut.

    langchain-core parses cut-off arguments `""` as `{}`: a call that looks runnable, with
    arguments the server never sent.
    """
    cut_but_valid = not message.invalid_tool_calls and message.tool_calls
    if not (cut_but_valid and isinstance(last_args, str) and not _is_whole_json(last_args)):
        return message
    *whole, last = message.tool_calls
    invalid = invalid_tool_call(
        name=last["name"], args=last_args, id=last["id"], error="cut off at max_tokens"
    )
    fields = _message_fields(message)
    fields.update(tool_calls=whole, invalid_tool_calls=[*message.invalid_tool_calls, invalid])
    return AIMessage(**fields)


def _message_fields(message: AIMessage) -> dict[str, Any]:
    return message.model_dump(exclude={"type", "tool_call_chunks", "chunk_position"})


def _is_whole_json(text: str) -> bool:
    try:
        json_loads(text)
    except ValueError:
        return False
    return True


def _forces_a_tool(body: dict[str, Any]) -> bool:
    choice = body.get("tool_choice")
    return bool(body.get("tools")) and (choice == "required" or isinstance(choice, dict))


def _warn_if_thinking_ate_budget(
    model: str, finish_reason: Any, *, answered: bool, reasoned: bool
) -> None:
    if finish_reason == "length" and reasoned and not answered:
        warnings.warn(
            f"{model} spent the whole max_tokens budget reasoning and returned no answer "
            "(finish_reason='length'). Raise max_tokens: reasoning tokens count against it.",
            UserWarning,
            stacklevel=2,
        )


def _wants_parsed(response_format: Any) -> bool:
    """Whether `response_format` is a schema class (its parsed answer goes in `parsed`).

    ChatOpenAI users read it in `additional_kwargs["parsed"]`; a JSON-schema dict leaves
    the message as it is.
    """
    return response_format is not None and not isinstance(response_format, dict)


def _is_closing(chunk: ChatGenerationChunk) -> bool:
    return cast("AIMessageChunk", chunk.message).chunk_position == "last"


def _with_parsed(received: list[ChatGenerationChunk], schema: Any) -> ChatGenerationChunk:
    """The stream's closing chunk, carrying the parsed answer (`additional_kwargs["parsed"]`).

    Raises:
        OutputTruncatedError: If the answer was cut off at the token limit.
        OutputParserException: If the answer is not JSON that fits the schema.
    """
    from langchain_wandb._tools import parse_structured

    merged = add_ai_message_chunks(*[cast("AIMessageChunk", c.message) for c in received])
    closing = received[-1]
    closing.message.additional_kwargs["parsed"] = parse_structured(merged, schema)
    return closing
