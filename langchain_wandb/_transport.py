"""HTTP to W&B: open a chat completion (raw streamed bytes or a JSON body), list models.

Knows HTTP, bytes and the openai SDK, never LangChain: the SDK does auth, headers and
status codes -> SDK errors; the bytes are decoded by `_sse`, and errors are typed by the
caller. Opening a response is retried (`_retry`, inside the concurrency governor);
reading it never is.

`timeout` bounds a whole request, whatever the server does: every attempt, every wait
between attempts and every read of the body fall within one deadline. Per attempt, the
SDK's timeouts are cut to the time left (reads also to the idle timeout). After the
headers, a server that trickles bytes just often enough to defeat the idle timeout is
still cut off on time: sync, a watchdog shuts the response's socket down at the deadline
(`_deadline`; disarmed when the response closes, so it never reaches the next request
on that pooled connection); async, every read runs under `asyncio.timeout_at`, from
before the headers on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_wandb._clients import ClientConfig, async_client, sync_client
from langchain_wandb._governor import IN_PROCESS, Target, key_fingerprint
from langchain_wandb._json import MAX_DEPTH, JsonTooDeepError, json_loads
from langchain_wandb._retry import Admitted, RetryHook, arun_with_retries, run_with_retries

if TYPE_CHECKING:
    import httpx2
    import openai

    from langchain_wandb._governor import GovernorBackend, GovernorHandle


@dataclass(frozen=True)
class RequestLimits:
    """How long one request may take and how often it is retried."""

    timeout: float
    """Total seconds for the request: attempts, waits between them, and the body."""
    idle_timeout: float
    """Seconds the server may stay silent while we wait for bytes."""
    max_retries: int
    """Retries for retryable failures before the first byte."""
    max_concurrency: int | None = None
    """Hard cap on requests in flight for this endpoint, project and model."""
    adaptive_concurrency: bool = True
    """Learn the server's concurrency limit from its 429s."""
    governor_backend: GovernorBackend | None = None
    """Where the concurrency pools live; None: in this process."""


class DeadlineExceededError(TimeoutError):
    """The request ran past its total `timeout`."""

    def __init__(self, timeout: float) -> None:
        """Record the `timeout` (seconds) that passed."""
        super().__init__(f"the request ran past its total timeout of {timeout:g} s")
        self.timeout = timeout


PLAIN_BODY_LIMIT = 16 * 2**20
"""The largest plain JSON answer read, in decoded bytes (the event stream's line limit)."""


class BodyTooLargeError(ValueError):
    """A plain JSON answer grew past `PLAIN_BODY_LIMIT`; reading stopped there."""

    def __init__(self, head: bytes, limit: int) -> None:
        """Keep the body's first bytes (callers show an excerpt)."""
        super().__init__(f"the response body is larger than {limit:,} bytes")
        self.head = head
        self.limit = limit


class MalformedBodyError(ValueError):
    """A JSON response body that does not decode to what was asked for."""

    def __init__(self, raw: bytes, why: str = "is not a JSON object") -> None:
        """Keep the body (callers show an excerpt) and what is wrong with it."""
        super().__init__(f"the response body {why}")
        self.raw = raw
        self.why = why


class BodyCutShortError(MalformedBodyError):
    """The connection broke before a plain JSON body was whole (its framing shows it)."""

    def __init__(self, raw: bytes, broken: BaseException) -> None:
        """Keep the bytes that arrived and how the connection broke."""
        super().__init__(
            raw,
            f"was cut short: the connection broke after {len(raw):,} bytes "
            f"({type(broken).__name__}: {broken})",
        )


def _timeouts(remaining: float, idle: float) -> httpx2.Timeout:
    import httpx2

    remaining = max(remaining, 0.001)
    return httpx2.Timeout(remaining, read=min(idle, remaining))


def _post(
    client: openai.OpenAI | openai.AsyncOpenAI,
    body: dict[str, Any],
    timeout: httpx2.Timeout,
) -> Any:
    """POST /chat/completions through the SDK's raw-request API (returns an httpx2 response).

    `client.post(..., cast_to=httpx2.Response)` sends the body as it is: the typed
    `chat.completions.create()` would first walk every message through the SDK's
    TypedDict transformer, a quarter of our per-request overhead.
    """
    import httpx2

    # Always read as a stream, even for a plain JSON answer: then the body, too, is read
    # under the deadline's watchdog rather than in one blocking call.
    return client.post(
        "/chat/completions",
        cast_to=httpx2.Response,
        body=body,
        stream=True,
        options={"timeout": timeout},
    )


def governor(config: ClientConfig, model: str, limits: RequestLimits) -> GovernorHandle:
    """The concurrency governor for `model` as W&B counts it: endpoint, key, project, model."""
    target = Target(
        config.base_url.rstrip("/"), key_fingerprint(config.api_key), config.project, model
    )
    backend = limits.governor_backend or IN_PROCESS
    return backend.governor(
        target, cap=limits.max_concurrency, adaptive=limits.adaptive_concurrency
    )


Resend = Callable[[dict[str, Any], BaseException], "dict[str, Any] | None"]
"""A caller's policy: given a body the server refused and the error, the body to send once
more instead (e.g. with a relaxed `tool_choice`), or None to raise. The transport applies
it; it never rewrites a body on its own."""


def _open(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    deadline: float,
    *,
    on_retry: RetryHook | None,
    resend: Resend | None,
) -> Admitted[Any]:
    from langchain_wandb._deadline import request_deadline

    client = sync_client(config)

    def send(body: dict[str, Any]) -> Admitted[Any]:
        # A plain request waits for its whole body, so only streams use the idle timeout.
        idle = limits.idle_timeout if body.get("stream") else limits.timeout

        def attempt(remaining: float) -> Any:
            token = request_deadline.set(deadline)  # read by the error-body hook
            try:
                return _post(client, body, _timeouts(remaining, idle))
            finally:
                request_deadline.reset(token)

        return run_with_retries(
            attempt,
            max_retries=limits.max_retries,
            deadline=deadline,
            governor=governor(config, str(body["model"]), limits),
            on_retry=on_retry,
        )

    try:
        return send(body)
    except Exception as error:
        other = resend(body, error) if resend is not None else None
        if other is None:
            raise
        return send(other)


async def _aopen(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    deadline: float,
    *,
    on_retry: RetryHook | None,
    resend: Resend | None,
) -> Admitted[Any]:
    from langchain_wandb._deadline import request_deadline

    client = async_client(config)
    loop_deadline = _loop_deadline(deadline)

    async def send(body: dict[str, Any]) -> Admitted[Any]:
        idle = limits.idle_timeout if body.get("stream") else limits.timeout

        async def attempt(remaining: float) -> Any:
            # asyncio's own timeout also bounds a server that trickles its headers.
            token = request_deadline.set(deadline)  # read by the error-body hook
            try:
                async with asyncio.timeout_at(loop_deadline):
                    return await _post(client, body, _timeouts(remaining, idle))
            except TimeoutError:
                raise DeadlineExceededError(limits.timeout) from None
            finally:
                request_deadline.reset(token)

        return await arun_with_retries(
            attempt,
            max_retries=limits.max_retries,
            deadline=deadline,
            governor=governor(config, str(body["model"]), limits),
            on_retry=on_retry,
        )

    try:
        return await send(body)
    except Exception as error:
        other = resend(body, error) if resend is not None else None
        if other is None:
            raise
        return await send(other)


def _loop_deadline(deadline: float) -> float:
    """`deadline` (time.monotonic) on the running loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _broken_connection() -> tuple[type[BaseException], ...]:
    """Errors that mean the connection broke mid-body (timeouts are not among them).

    A stream whose connection breaks has ended: the decoder knows whether the answer
    had finished (only its usage is lost) or not (it raises); either way, what arrived
    is kept.
    """
    import httpx2

    return (httpx2.RemoteProtocolError, httpx2.ReadError)


# A finished answer's connection goes back to the pool only once its body is read to the
# end; a server that keeps the body open after [DONE] must not hold the caller up: the
# end of a chunked body follows [DONE] at once, so a short grace keeps the pool warm.
_DRAIN_SECONDS = 0.05
_DRAIN_BYTES = 65536


class _Body:
    """The bytes of one response, read under its deadline (sync: see `_deadline`)."""

    def __init__(self, response: Any, deadline: float, timeout: float) -> None:
        from langchain_wandb._deadline import watch

        self.cutoff = watch(response, deadline)
        self.reader = response.iter_bytes()
        self.deadline = deadline
        self.timeout = timeout
        self.broken: BaseException | None = None
        """How the connection broke, if it did before the body's end."""

    def __iter__(self) -> Iterator[bytes]:
        cutoff = self.cutoff
        try:
            for chunk in self.reader:
                if cutoff.fired or time.monotonic() > self.deadline:
                    raise DeadlineExceededError(self.timeout)
                yield chunk
        except _broken_connection() as error:
            self.broken = error  # the body has ended: its decoder judges whether it was whole
        if cutoff.fired:
            # The watchdog shut the socket: for a body delimited by the connection's end
            # that reads as a clean end, not an error.
            raise DeadlineExceededError(self.timeout)

    def drain(self) -> None:
        """Read what is left of a finished body, briefly, so its connection is reused."""
        self.cutoff.at(min(self.deadline, time.monotonic() + _DRAIN_SECONDS))
        left = _DRAIN_BYTES
        try:
            for chunk in self.reader:
                left -= len(chunk)
                if left < 0 or self.cutoff.fired:
                    break
        except Exception:  # noqa: S110 - the answer is complete; the socket just closes
            pass


@contextmanager
def stream_bytes(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    on_retry: RetryHook | None = None,
    resend: Resend | None = None,
) -> Iterator[_Body]:
    """Open a chat completion; yields its body, an iterable of bytes as they arrive.

    The response is closed (and its concurrency slot freed) when the block exits,
    including when the caller stops early.

    Raises:
        DeadlineExceededError: If the request runs past `limits.timeout`.

    """
    deadline = time.monotonic() + limits.timeout
    admitted = _open(config, body, limits, deadline, on_retry=on_retry, resend=resend)
    response = admitted.value
    try:
        reader = _Body(response, deadline, limits.timeout)
        yield reader
        reader.drain()
    finally:
        try:
            response.close()  # disarms the cutoff before the connection goes back
        finally:
            admitted.release()


class _AsyncBody:
    """Async `_Body`: each read runs under `asyncio.timeout_at(deadline)`.

    The timeout belongs to the reading task, so it ends with the request and never
    touches the connection (which may carry the next request); the consumer's own code
    between reads is never timed.
    """

    def __init__(self, response: Any, deadline: float, timeout: float) -> None:
        self.reader = response.aiter_bytes()
        self.loop_deadline = _loop_deadline(deadline)
        self.timeout = timeout
        self.broken: BaseException | None = None
        """How the connection broke, if it did before the body's end."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while (chunk := await self._read_before_the_deadline()) is not None:
                yield chunk
        except _broken_connection() as error:
            self.broken = error  # the body has ended: its decoder judges whether it was whole

    async def _read_before_the_deadline(self) -> bytes | None:
        try:
            async with asyncio.timeout_at(self.loop_deadline):
                return await anext(self.reader, None)
        except TimeoutError:
            raise DeadlineExceededError(self.timeout) from None

    async def drain(self) -> None:
        """Async `_Body.drain`."""
        left = _DRAIN_BYTES
        grace = min(self.loop_deadline, asyncio.get_running_loop().time() + _DRAIN_SECONDS)
        try:
            async with asyncio.timeout_at(grace):
                async for chunk in self.reader:
                    left -= len(chunk)
                    if left < 0:
                        break
        except Exception:  # noqa: S110 - the answer is complete; the socket just closes
            pass


@asynccontextmanager
async def astream_bytes(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    on_retry: RetryHook | None = None,
    resend: Resend | None = None,
) -> AsyncIterator[_AsyncBody]:
    """Async `stream_bytes`: yields its body, an async iterable of bytes."""
    deadline = time.monotonic() + limits.timeout
    admitted = await _aopen(config, body, limits, deadline, on_retry=on_retry, resend=resend)
    response = admitted.value
    reader = _AsyncBody(response, deadline, limits.timeout)
    try:
        yield reader
        await reader.drain()
    finally:
        try:
            await response.aclose()
        finally:
            admitted.release()


def post_json(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    on_retry: RetryHook | None = None,
    resend: Resend | None = None,
) -> dict[str, Any]:
    """Send a non-streaming chat completion and return the decoded JSON body."""
    with stream_bytes(config, body, limits, on_retry, resend) as reader:
        return _decode_body(_read_whole(reader), reader.broken)


async def apost_json(
    config: ClientConfig,
    body: dict[str, Any],
    limits: RequestLimits,
    on_retry: RetryHook | None = None,
    resend: Resend | None = None,
) -> dict[str, Any]:
    """Async `post_json`."""
    async with astream_bytes(config, body, limits, on_retry, resend) as reader:
        return _decode_body(await _aread_whole(reader), reader.broken)


def _read_whole(reader: _Body) -> bytes:
    """A plain body's bytes, up to `PLAIN_BODY_LIMIT`."""
    kept = bytearray()
    for chunk in reader:
        _add_capped(kept, chunk)
    return bytes(kept)


async def _aread_whole(reader: _AsyncBody) -> bytes:
    """Async `_read_whole`."""
    kept = bytearray()
    async for chunk in reader:
        _add_capped(kept, chunk)
    return bytes(kept)


def _add_capped(kept: bytearray, chunk: bytes) -> None:
    kept += chunk
    if len(kept) > PLAIN_BODY_LIMIT:
        raise BodyTooLargeError(bytes(kept[:4096]), PLAIN_BODY_LIMIT)


def _decode_body(raw: bytes, broken: BaseException | None = None) -> dict[str, Any]:
    """The JSON object `raw` holds; if it holds none and the connection broke, that is why.

    (A whole object before a broken end is the whole answer: it is kept.)
    """
    try:
        data = json_loads(raw)
    except JsonTooDeepError:
        raise MalformedBodyError(raw, f"is JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise (
            MalformedBodyError(raw) if broken is None else BodyCutShortError(raw, broken)
        ) from None
    if not isinstance(data, dict):
        raise MalformedBodyError(raw)
    return data


def _model_entries(raw: bytes, broken: BaseException | None) -> list[dict[str, Any]]:
    """The entries of a `GET /models` body, each an object with a text `id`."""
    entries = _decode_body(raw, broken).get("data")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in entries
    ):
        raise MalformedBodyError(raw, "is not a list of models")
    return entries


def _get_models(client: openai.OpenAI | openai.AsyncOpenAI, timeout: httpx2.Timeout) -> Any:
    """GET /models as a raw streamed response (read, bounded, by `_Body`/`_AsyncBody`)."""
    import httpx2

    return client.get("/models", cast_to=httpx2.Response, stream=True, options={"timeout": timeout})


def list_model_entries(config: ClientConfig, limits: RequestLimits) -> list[dict[str, Any]]:
    """GET /models: the raw model entries W&B serves (read as a chat answer's body is)."""
    from langchain_wandb._deadline import request_deadline

    client = sync_client(config)
    deadline = time.monotonic() + limits.timeout

    def attempt(remaining: float) -> Any:
        token = request_deadline.set(deadline)
        try:
            return _get_models(client, _timeouts(remaining, limits.timeout))
        finally:
            request_deadline.reset(token)

    admitted = run_with_retries(attempt, max_retries=limits.max_retries, deadline=deadline)
    response = admitted.value
    try:
        reader = _Body(response, deadline, limits.timeout)
        raw = _read_whole(reader)
    finally:
        try:
            response.close()
        finally:
            admitted.release()
    return _model_entries(raw, reader.broken)


async def alist_model_entries(config: ClientConfig, limits: RequestLimits) -> list[dict[str, Any]]:
    """Async `list_model_entries`."""
    from langchain_wandb._deadline import request_deadline

    client = async_client(config)
    deadline = time.monotonic() + limits.timeout
    loop_deadline = _loop_deadline(deadline)

    async def attempt(remaining: float) -> Any:
        token = request_deadline.set(deadline)
        try:
            async with asyncio.timeout_at(loop_deadline):
                return await _get_models(client, _timeouts(remaining, limits.timeout))
        except TimeoutError:
            raise DeadlineExceededError(limits.timeout) from None
        finally:
            request_deadline.reset(token)

    admitted = await arun_with_retries(attempt, max_retries=limits.max_retries, deadline=deadline)
    response = admitted.value
    try:
        reader = _AsyncBody(response, deadline, limits.timeout)
        raw = await _aread_whole(reader)
    finally:
        try:
            await response.aclose()
        finally:
            admitted.release()
    return _model_entries(raw, reader.broken)
