"""The pytest plugin is opt-in, configurable, and touches nothing in projects that don't ask."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from langchain_wandb import ChatWandbInference
from langchain_wandb.testing import EMULATOR_KEY, EmulatedModel, WandbEmulator, emulated

# A user's project: it installs langchain-wandb and uses it, but never enables the plugin.
_USER_TEST = """
import sys


def _ours():
    return sorted(name for name in sys.modules if name.split(".")[0] == "langchain_wandb")


LOADED_AT_COLLECTION = _ours()


def test_nothing_of_ours_was_loaded_or_rewritten(pytestconfig):
    assert LOADED_AT_COLLECTION == []
    plugins = [getattr(p, "__name__", "") for p in pytestconfig.pluginmanager.get_plugins()]
    assert [name for name in plugins if name.startswith("langchain_wandb")] == []
    import langchain_wandb
    from langchain_wandb import ChatWandbInference
    from langchain_wandb.errors import WandbRateLimitError, WandbStreamError

    ChatWandbInference(api_key="k")
    hook = pytestconfig.pluginmanager.rewrite_hook
    marked = [name for name in getattr(hook, "_must_rewrite", ()) if "langchain_wandb" in name]
    rewritten = [
        name for name in _ours() if type(sys.modules[name].__loader__).__name__
        == "AssertionRewritingHook"
    ]
    assert len(_ours()) > 5
    assert (marked, rewritten) == ([], [])
"""


def _run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    (project / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_project_that_only_installs_the_package_loads_and_rewrites_none_of_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_user.py").write_text(_USER_TEST)
    run = _run_pytest(tmp_path)
    # A stale install (metadata from before 0.3.0) still registers the pytest11 entry
    # point: reinstall the package (`pip install -e .`) if this fails on a dev machine.
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_documented_conftest_line_enables_the_fixture_and_its_marker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["langchain_wandb.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.wandb_emulator(models=["my-team/my-model"], concurrency_limit=3)
            def test_configured(wandb_emulator):
                assert wandb_emulator.concurrency_limit == 3
                llm = wandb_emulator.chat_model(model="my-team/my-model")
                assert llm.invoke("Say hi").content
            """
        )
    )
    run = _run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


@pytest.mark.wandb_emulator(
    models=["my-team/my-model", EmulatedModel("my-team/tiny", context_window=50)],
    concurrency_limit=2,
    time_to_first_token=0.01,
    tokens_per_second=1000.0,
)
def test_the_marker_configures_the_fixture(wandb_emulator: WandbEmulator) -> None:
    assert wandb_emulator.concurrency_limit == 2
    assert wandb_emulator.time_to_first_token == 0.01
    assert wandb_emulator.tokens_per_second == 1000.0
    tiny = wandb_emulator.served_model("my-team/tiny")
    assert tiny is not None
    assert tiny.context_window == 50
    llm = wandb_emulator.chat_model(model="my-team/my-model", max_retries=0)
    assert llm.invoke("Say hi").content


def test_an_unknown_marker_option_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["langchain_wandb.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.wandb_emulator(concurency_limit=3)
            def test_typo(wandb_emulator):
                pass
            """
        )
    )
    run = _run_pytest(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert "unexpected keyword argument 'concurency_limit'" in run.stdout


def test_the_factory_starts_emulators_and_stops_them_after_the_test(
    wandb_emulator_factory: Callable[..., WandbEmulator],
) -> None:
    first = wandb_emulator_factory(concurrency_limit=1)
    second = wandb_emulator_factory()
    assert (first.concurrency_limit, second.concurrency_limit) == (1, None)
    assert first.base_url != second.base_url
    assert first.chat_model(max_retries=0).invoke("hi").content


def test_emulated_points_new_models_at_an_emulator_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "the-users-real-key")
    monkeypatch.delenv("WANDB_INFERENCE_BASE_URL", raising=False)
    with emulated(models=["my-team/my-model"]) as emulator:
        llm = ChatWandbInference(model="my-team/my-model")
        assert llm.invoke("Say hi").content
        assert os.environ["WANDB_INFERENCE_BASE_URL"] == emulator.base_url
        assert emulator.requests[-1].headers["authorization"] == f"Bearer {EMULATOR_KEY}"
    assert os.environ["WANDB_API_KEY"] == "the-users-real-key"
    assert "WANDB_INFERENCE_BASE_URL" not in os.environ


def test_emulated_restores_the_environment_when_the_block_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WANDB_INFERENCE_BASE_URL", "https://example.invalid/v1")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="boom"), emulated():
        raise RuntimeError("boom")
    assert os.environ["WANDB_INFERENCE_BASE_URL"] == "https://example.invalid/v1"
    assert "WANDB_API_KEY" not in os.environ
