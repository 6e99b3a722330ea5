"""SDK and transport errors -> typed errors: what each W&B answer becomes, with no key shown."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import pytest

from langchain_wandb import _sdk_errors
from langchain_wandb._deadline import CUT

KEY = "wandb_v1_SECRETKEY1234567890"


def _status_error(status: int, body: object, text: str) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.inference.wandb.ai/v1/chat/completions")
    response = httpx2.Response(status, text=text, request=request)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


def test_a_failing_conversion_still_leaves_no_key_in_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = _status_error(400, {"message": f"bad key {KEY}"}, f"bad key {KEY}")

    def broken(*args: object, **kwargs: object) -> BaseException:
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(_sdk_errors, "_classified", broken)
    with pytest.raises(RuntimeError, match="conversion failed"):
        _sdk_errors.to_typed_error(error, model="m", secret=KEY, timeout=1, idle_timeout=1)
    assert KEY not in repr(error.body)
    assert KEY not in error.response.text


def _convert(error: BaseException, secret: str = KEY) -> BaseException:
    return _sdk_errors.to_typed_error(error, model="m", secret=secret, timeout=9, idle_timeout=3)


@pytest.mark.parametrize(
    ("body", "text", "said"),
    [
        ({"detail": [{"loc": ["body", "n"], "msg": "too big"}]}, "", "(422): body.n: too big"),
        ({"detail": [{"msg": "bad"}, "plain"]}, "", "(422): bad; plain"),
        ({"error": {"msg": "nested"}}, "", "(422): nested"),
        ({"error": 42}, "", "(422): 42"),
        ("<html>proxy says no</html>", "", "(422): <html>proxy says no</html>"),
        (None, "raw text", "(422): raw text"),
        ({"code": 7}, '{"code": 7}', '(422): {"code": 7}'),  # no message: the body as sent
        ({"error": {"code": "x"}}, '{"error": {"code": "x"}}', '(422): {"error": {"code": "x"}}'),
        ({"detail": [{"code": 1}]}, '{"detail":[{"code":1}]}', '(422): {"detail":[{"code":1}]}'),
        (None, "", "(422): HTTP 422 with no message"),
    ],
)
def test_the_servers_words_whatever_the_body_shape(body: object, text: str, said: str) -> None:
    typed = _convert(_status_error(422, body, text))
    assert said in str(typed)


@pytest.mark.parametrize(
    ("status", "kind", "hint"),
    [
        (502, _sdk_errors.WandbServerError, "had a server error."),
        (418, _sdk_errors.WandbAPIStatusError, "returned an error."),
        (413, _sdk_errors.WandbContextOverflowError, "rejected the request."),
    ],
)
def test_statuses_w_and_b_does_not_document(status: int, kind: type, hint: str) -> None:
    message = "prompt too long" if status == 413 else "teapot"
    typed = _convert(_status_error(status, {"message": message}, message))
    assert isinstance(typed, kind)
    assert hint in str(typed)


def test_a_body_never_read_is_no_message_not_a_crash() -> None:
    class Unread(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b"never read"

    request = httpx2.Request("POST", "https://api.inference.wandb.ai/v1/chat/completions")
    response = httpx2.Response(422, stream=Unread(), request=request)
    error = openai.APIStatusError("Error code: 422", response=response, body=None)
    assert "(422): HTTP 422 with no message" in str(_convert(error))


def test_a_cut_short_body_says_why() -> None:
    error = _status_error(500, '{"error": {"mess', '{"error": {"mess')
    error.response.extensions[CUT] = "the request's timeout ran out"
    said = str(_convert(error))
    assert '(500): {"error": {"mess [the body was cut short: the request\'s timeout ran out]' in (
        said
    )


def test_transport_failures_become_stream_errors() -> None:
    from langchain_wandb import StreamEndedEarlyError, StreamTimeoutError

    broke = _convert(httpx2.ReadError(f"reset while sending {KEY}"))
    assert isinstance(broke, StreamEndedEarlyError)
    assert KEY not in str(broke)
    assert isinstance(_convert(httpx2.ReadTimeout("slow")), StreamTimeoutError)
    other = openai.OpenAIError("no status")
    assert _convert(other) is other
