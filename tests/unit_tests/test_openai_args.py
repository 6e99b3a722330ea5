"""Coming from ChatOpenAI: every constructor argument works the same or is refused at once."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from langchain_wandb import ChatWandbInference
from langchain_wandb._openai_args import OPENAI_ARGS

KEY = "wandb_v1_FAKEKEY0123456789"


def _tokens(text: str) -> list[int]:
    return [len(text)]


# A value for each ChatOpenAI argument that asks for something (not its default).
SAMPLES: dict[str, Any] = {
    "name": "my-model",
    "cache": False,
    "verbose": True,
    "callbacks": [],
    "tags": ["a"],
    "metadata": {"k": "v"},
    "custom_get_token_ids": _tokens,
    "rate_limiter": InMemoryRateLimiter(requests_per_second=100),
    "disable_streaming": "tool_calling",
    "output_version": "v1",
    "profile": {"max_input_tokens": 1000},
    "client": object(),
    "async_client": object(),
    "root_client": object(),
    "root_async_client": object(),
    "model_name": "openai/gpt-oss-20b",
    "model": "openai/gpt-oss-20b",
    "temperature": 0.3,
    "model_kwargs": {"top_k": 4},
    "openai_api_key": KEY,
    "api_key": KEY,
    "openai_api_base": "https://example.test/v1",
    "base_url": "https://example.test/v1",
    "openai_organization": "org-1",
    "organization": "org-1",
    "openai_proxy": "http://proxy.test:3128",
    "request_timeout": 12.5,
    "timeout": 12.5,
    "stream_usage": False,
    "max_retries": 5,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "seed": 7,
    "logprobs": True,
    "top_logprobs": 3,
    "logit_bias": {50256: -100},
    "streaming": True,
    "n": 2,
    "top_p": 0.9,
    "max_tokens": 99,
    "max_completion_tokens": 99,
    "reasoning_effort": "low",
    "reasoning": {"effort": "high"},
    "verbosity": "low",
    "tiktoken_model_name": "gpt-4o",
    "default_headers": {"X-Test": "1"},
    "default_query": {"q": "1"},
    "http_client": None,
    "http_async_client": None,
    "http_socket_options": [(6, 1, 1)],
    "stream_chunk_timeout": 30.0,
    "stop": ["END"],
    "stop_sequences": ["END"],
    "extra_body": {"min_p": 0.1},
    "include_response_headers": True,
    "disabled_params": {"parallel_tool_calls": None},
    "context_management": [{"type": "compaction"}],
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_options": {"retention": "24h"},
    "service_tier": "flex",
    "store": True,
    "truncation": "auto",
    "use_previous_response_id": True,
    "use_responses_api": True,
}

# What each of ChatOpenAI's arguments sets there, where reading it back differs.
_READ_AS = {"reasoning": "reasoning_effort"}


def _openai_names() -> list[tuple[str, str]]:
    """(name a user may pass, ChatOpenAI's field) for every field and alias."""
    names = []
    for field_name, info in ChatOpenAI.model_fields.items():
        names.append((field_name, field_name))
        if info.alias and info.alias != field_name:
            names.append((info.alias, field_name))
    return names


def _comparable(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):  # without the version stamps each package adds to metadata
        return {key: _comparable(item) for key, item in value.items() if key != "lc_versions"}
    return value


@pytest.mark.parametrize(("name", "field"), _openai_names())
def test_every_chatopenai_argument_is_handled_on_purpose(name: str, field: str) -> None:
    assert name in OPENAI_ARGS, f"ChatOpenAI's {name!r} is new: decide it in _openai_args.py"
    assert name in SAMPLES, f"give {name!r} a sample value in this test"
    arg = OPENAI_ARGS[name]
    value = SAMPLES[name]
    base = {} if name in ("api_key", "openai_api_key") else {"api_key": "k"}
    if arg.handling == "refused":
        with pytest.raises(ValueError, match=rf"{name} is not supported: \w"):
            ChatWandbInference(**base, **{name: value})
        # ChatOpenAI's default asks for nothing: accepted, with no effect.
        default = ChatOpenAI.model_fields[field].get_default(call_default_factory=True)
        ChatWandbInference(**base, **{name: default})
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "transferred to model_kwargs": it is known
        ours = ChatWandbInference(**base, **{name: value})
    theirs = ChatOpenAI(**base, **{name: value})
    expected = _comparable(getattr(theirs, field))
    if arg.handling == "request":
        assert ours.model_kwargs == {name: value}
        assert theirs.model_kwargs == {}  # a field there, a body field here
        assert expected == value
        return
    ours_field = _READ_AS.get(name) or arg.target or name
    if ours_field == "model" or ours_field == "model_name":
        ours_field = "model_name"
    if name == "reasoning":
        expected = expected["effort"]
    assert _comparable(getattr(ours, ours_field)) == expected


def test_the_table_names_only_chatopenai_arguments() -> None:
    """No stale rows: the README table is built from it."""
    assert set(OPENAI_ARGS) == {name for name, _ in _openai_names()}


def test_every_refusal_is_one_sentence() -> None:
    for name, arg in OPENAI_ARGS.items():
        if arg.handling == "refused":
            assert arg.note.endswith("."), name
            assert arg.note[0].isupper(), name


@pytest.mark.parametrize(
    ("kwargs", "meant"),
    [
        ({"temprature": 0.5}, "temperature"),
        ({"max_token": 5}, "max_tokens"),
        ({"reasoning_efort": "low"}, "reasoning_effort"),
        ({"stream_usgae": True}, "stream_usage"),
        ({"top_logprob": 2}, "top_logprobs"),
    ],
)
def test_a_typo_fails_and_names_the_argument_meant(kwargs: dict[str, Any], meant: str) -> None:
    with pytest.raises(ValueError, match=rf"did you mean {meant}\?"):
        ChatWandbInference(api_key="k", **kwargs)


@pytest.mark.parametrize("extra", ["top_k", "min_p", "repetition_penalty", "min_tokens"])
def test_server_extras_still_go_to_model_kwargs_with_cores_warning(extra: str) -> None:
    with pytest.warns(UserWarning, match=rf"{extra} was transferred to model_kwargs"):
        llm = ChatWandbInference(api_key="k", **{extra: 1})
    assert llm.model_kwargs == {extra: 1}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"wandb_key": KEY},
        {"openai_key": KEY},
        {"token": KEY},
        {"auth_token": KEY},
        {"secret": KEY},
        {"openAIApiKey": KEY},  # LangChain.js's name
        {"wandbApiKey": KEY},
        {"OpenAIKey": KEY},
        {"accessToken": KEY},
        {"credentials": KEY},
        {"model_kwargs": {"openai_api_key": KEY}},
        {"model_kwargs": {"api-key": KEY}},
        {"extra_body": {"api_key": KEY}},
    ],
)
def test_a_credential_is_never_moved_into_the_body(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="looks like a credential") as caught:
        ChatWandbInference(api_key="k", **kwargs)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"extra_headers": {"X-A": "1"}}, "default_headers"),
        ({"extra_query": {"a": "1"}}, "openai SDK option"),
        ({"previous_response_id": "resp_1"}, "Responses API"),
    ],
)
def test_an_option_no_request_may_carry_is_refused_when_built_not_when_called(
    kwargs: dict[str, Any], match: str
) -> None:
    """Unknown arguments go to `model_kwargs`; those `invoke` would refuse fail at once."""
    with pytest.raises(ValueError, match=match):
        ChatWandbInference(api_key="k", **kwargs)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("Authorization", "api_key="),
        ("authorization", "api_key="),
        ("X-Api-Key", "http_client="),
        ("Proxy-Authorization", "http_client="),
    ],
)
def test_a_credential_header_is_refused_so_no_key_shows_in_repr_or_dumps(
    header: str, match: str
) -> None:
    """`default_headers` is a plain field: a key in it would show in `repr` and `dumps`."""
    with pytest.raises(ValueError, match=match) as caught:
        ChatWandbInference(api_key="k", default_headers={header: f"Bearer {KEY}"})
    assert KEY not in str(caught.value)


def test_other_default_headers_are_kept() -> None:
    llm = ChatWandbInference(api_key="k", default_headers={"X-Request-Source": "evals"})
    assert llm.default_headers == {"X-Request-Source": "evals"}


def test_one_argument_under_two_names_is_refused() -> None:
    with pytest.raises(ValueError, match="name the same argument"):
        ChatWandbInference(api_key="a", openai_api_key="b")
    with pytest.raises(ValueError, match="name the same argument"):
        ChatWandbInference(api_key="a", max_tokens=5, max_completion_tokens=6)


def test_chatopenai_none_means_the_default_here_too() -> None:
    llm = ChatWandbInference(
        api_key="k", max_retries=None, stream_usage=None, timeout=None, stream_chunk_timeout=None
    )
    default = ChatWandbInference(api_key="k")
    assert (llm.max_retries, llm.stream_usage, llm.timeout, llm.stream_idle_timeout) == (
        default.max_retries,
        default.stream_usage,
        default.timeout,
        default.stream_idle_timeout,
    )


def test_reasoning_dict_beyond_effort_is_refused() -> None:
    with pytest.raises(ValueError, match="only its 'effort' has a meaning"):
        ChatWandbInference(api_key="k", reasoning={"effort": "low", "summary": "auto"})


def test_responses_output_version_is_refused() -> None:
    with pytest.raises(ValueError, match="Responses API"):
        ChatWandbInference(api_key="k", output_version="responses/v1")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n": 3}, "batch()"),
        ({"previous_response_id": "resp_1"}, "Responses API"),
        ({"service_tier": "flex"}, "service tiers"),
        ({"reasoning": {"effort": "low", "summary": "auto"}}, "only its .effort. has a meaning"),
        ({"api_key": KEY}, "credential"),
        ({"extra_body": {"openai_api_key": KEY}}, "credential"),
        ({"extra_headers": {"X": "1"}}, "openai SDK option"),
        ({"timeout": 5}, "set it on the model"),
        # ChatOpenAI's client options refused at construction are refused per call too.
        ({"organization": "org"}, "organization"),
        ({"openai_organization": "org"}, "organization"),
        ({"include_response_headers": True}, "Response headers"),
        ({"disabled_params": {"parallel_tool_calls": None}}, "nothing to disable"),
        ({"use_responses_api": True}, "Responses API"),
        ({"openai_proxy": "http://proxy"}, "proxy"),
        # Settings of the model are not request fields.
        ({"max_retries": 5}, "setting of the model"),
        ({"streaming": False}, "setting of the model"),
        ({"project": "team/other"}, "setting of the model"),
        ({"base_url": "http://elsewhere/v1"}, "setting of the model"),
        ({"openai_api_base": "http://elsewhere/v1"}, "setting of the model"),
        ({"request_timeout": 3}, "setting of the model"),
        ({"max_concurrency": 2}, "setting of the model"),
        ({"prices": {}}, "setting of the model"),
        ({"default_headers": {"X-A": "1"}}, "setting of the model"),
        ({"model_kwargs": {"top_k": 5}}, "pass its fields themselves"),
        # Typos of request fields.
        ({"temprature": 0.5}, "did you mean temperature"),
        ({"max_tokes": 5}, "did you mean max_tokens"),
        ({"stop_sequences": ["x"]}, "pass stop="),
        ({"name": "m"}, "setting of the model"),
    ],
)
def test_per_call_options_w_and_b_cannot_honour_are_refused_at_bind(
    options: dict[str, Any], match: str
) -> None:
    llm = ChatWandbInference(api_key="k")
    with pytest.raises(ValueError, match=match):
        llm.bind(**options)
    with pytest.raises(ValueError, match=match):
        llm.invoke("hi", **options)  # no request is made: sockets are blocked here


def test_get_token_ids_says_what_to_install_and_uses_a_given_tokenizer() -> None:
    llm = ChatWandbInference(api_key="k", model="openai/gpt-oss-20b")
    with pytest.raises(NotImplementedError, match=r"pip install transformers") as caught:
        llm.get_token_ids("hello")
    assert "AutoTokenizer.from_pretrained('openai/gpt-oss-20b').encode" in str(caught.value)
    assert llm.get_num_tokens("hello world") > 0  # the estimate stays offline
    custom = ChatWandbInference(api_key="k", custom_get_token_ids=_tokens)
    assert custom.get_token_ids("hello") == [5]


def test_structured_output_tools_need_json_schema() -> None:
    llm = ChatWandbInference(api_key="k")
    with pytest.raises(ValueError, match="method='json_schema' only"):
        llm.with_structured_output(
            {"title": "A", "type": "object"}, method="json_mode", tools=[_tokens]
        )


def test_cache_is_a_standard_field() -> None:
    cache = InMemoryCache()
    assert ChatWandbInference(api_key="k", cache=cache).cache is cache


@pytest.mark.parametrize("alias", ["api_key", "openai_api_key", "wandb_api_key"])
def test_a_key_function_is_refused_with_a_reason(alias: str) -> None:
    with pytest.raises(ValueError, match="takes the key itself"):
        ChatWandbInference(**{alias: lambda: KEY})


def test_a_wandb_api_key_is_the_api_key() -> None:
    llm = ChatWandbInference(wandb_api_key=KEY)
    assert llm.api_key.get_secret_value() == KEY
    assert llm.model_kwargs == {}


def test_a_key_inside_per_call_model_kwargs_is_never_sent() -> None:
    llm = ChatWandbInference(api_key="k")
    with pytest.raises(ValueError) as caught:
        llm.bind(model_kwargs={"api_key": KEY})
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("options", [{"top_k": 5}, {"max_completion_tokens": 9}, {"seed": 1}])
def test_genuine_per_call_fields_still_pass(options: dict[str, Any]) -> None:
    ChatWandbInference(api_key="k").bind(**options)


@pytest.mark.parametrize("value", [KEY, "0123456789abcdef0123456789abcdef01234567"])
@pytest.mark.parametrize("field", ["project", "model", "base_url"])
def test_a_key_given_in_the_wrong_place_is_refused_and_not_shown(field: str, value: str) -> None:
    """WANDB_API_KEY mixed up with another setting: refused, and the key never printed."""
    with pytest.raises(ValueError, match=f"{field} must be") as caught:
        ChatWandbInference(api_key="k", **{field: value})
    assert value not in str(caught.value)
    assert "looks like an API key" in str(caught.value)


@pytest.mark.parametrize("option", ["tags", "metadata", "callbacks"])
def test_run_options_bound_as_call_options_are_refused_naming_the_config(option: str) -> None:
    """Bound, they failed on the first call with core's 'got multiple values' TypeError."""
    with pytest.raises(ValueError, match=r"run option.*with_config"):
        ChatWandbInference(api_key="k").bind(**{option: {}})


def test_a_key_passed_as_the_per_call_model_is_refused_and_not_shown() -> None:
    llm = ChatWandbInference(api_key="k")
    with pytest.raises(ValueError, match="model must be") as caught:
        llm.bind(model=KEY)
    assert KEY not in str(caught.value)
    with pytest.raises(ValueError, match="model must be") as caught:
        llm.invoke("hi", model=KEY)  # no request is made: sockets are blocked here
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatWandbInference(api_key="k", model_kwargs={"store": False}),
        lambda: ChatWandbInference(api_key="k", extra_body={"service_tier": "auto"}),
        lambda: ChatWandbInference(api_key="k").bind(extra_body={"store": False}),
        lambda: ChatWandbInference(api_key="k").invoke("hi", extra_body={"service_tier": "auto"}),
    ],
    ids=["model_kwargs", "extra_body", "bound extra_body", "per-call extra_body"],
)
def test_openais_defaults_inside_a_body_given_as_it_is_are_still_refused(
    build: Callable[[], object],
) -> None:
    """`extra_body` and `model_kwargs` are sent as they are: a default there would reach W&B,
    where it was never tested. Before (one commit): accepted, and sent."""
    with pytest.raises(ValueError, match=r"(store|service_tier) is not supported"):
        build()


def test_a_default_of_a_per_call_only_option_asks_for_nothing_at_construction() -> None:
    """Before (one commit): `text=None` went to model_kwargs, with core's warning, and was
    sent as `"text": null` in every body."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm = ChatWandbInference(api_key="k", text=None, previous_response_id=None)
    assert llm.model_kwargs == {}


def test_n_true_is_not_n_1() -> None:
    llm = ChatWandbInference(api_key="k")
    with pytest.raises(ValueError, match="n is not supported"):
        llm.bind(n=True)
    with pytest.raises(ValueError, match="n is not supported"):
        ChatWandbInference(api_key="k", n=True)
