"""A worker's concurrency 429 report never blocks its event loop on the actor."""

from __future__ import annotations

from typing import Any

from langchain_wandb._governor import Target


class _Method:
    def __init__(self, calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]], name: str) -> None:
        self.calls, self.name = calls, name

    def remote(self, *args: Any, **kwargs: Any) -> object:
        self.calls.append((self.name, args, kwargs))
        return object()  # not an ObjectRef: waiting on it would fail


class _Actor:
    """Records the messages sent to it; answers none."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> _Method:
        return _Method(self.calls, name)


def test_a_refusal_is_sent_without_waiting_and_repeated_with_the_requeue() -> None:
    """Before: `refused` waited on the actor (`ray.get`), stalling every request of the
    worker's event loop for a round trip per 429."""
    import math

    from langchain_wandb.ray import RayGovernor, RayGovernorBackend, RaySlot

    actor = _Actor()
    target = Target("http://refusal.test/v1", "fp", "team/p", "m")
    governor = RayGovernor(RayGovernorBackend(), actor, target, None, True)
    slot = RaySlot(governor, "t1", 8, False)
    governor.refused(slot, "user")
    assert [name for name, _, _ in actor.calls] == ["refused"]
    governor._request(math.inf, slot)
    name, _, kwargs = actor.calls[-1]
    assert (name, kwargs["previous"], kwargs["scope"]) == ("acquire", "t1", "user")


def test_a_requeue_without_a_refusal_states_no_scope() -> None:
    import math

    from langchain_wandb.ray import RayGovernor, RayGovernorBackend, RaySlot

    actor = _Actor()
    governor = RayGovernor(
        RayGovernorBackend(), actor, Target("http://r.test/v1", "fp", None, "m"), 2, False
    )
    slot = RaySlot(governor, "t1", 1, False)
    governor.refused(slot, "project")  # not adaptive: nothing to learn, nothing sent
    governor._request(math.inf, slot)
    assert [(name, kwargs["scope"]) for name, _, kwargs in actor.calls] == [("acquire", None)]


def test_an_acceptance_that_raises_no_limit_travels_with_the_release() -> None:
    from langchain_wandb.ray import RayGovernor, RayGovernorBackend, RaySlot

    actor = _Actor()
    governor = RayGovernor(
        RayGovernorBackend(), actor, Target("http://a.test/v1", "fp", None, "m"), None, True
    )
    quiet = RaySlot(governor, "quiet", 3, False, grows=False)
    governor.admitted(quiet)
    quiet.release()
    quiet.release()  # idempotent
    growing = RaySlot(governor, "growing", 8, True, grows=True)
    governor.admitted(growing)
    growing.release()
    sent = [(name, args) for name, args, _ in actor.calls]
    assert sent == [
        ("release", ("quiet", True)),
        ("admitted", ("growing",)),
        ("release", ("growing", False)),
    ]
