"""The SDK internals aisinfra/program/sdk.py relies on, and the config the Pulumi CLI hands over.

If a Pulumi SDK upgrade changes any private name sdk.py uses, these fail naming the version."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import re
import threading
import traceback
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import pulumi_kubernetes
import pytest
from pulumi import _types as pulumi_types
from pulumi.runtime import config as runtime_config
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import resource_cycle_breaker, rpc
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop

from aisinfra.program import sdk
from aisinfra.review import render
from aisinfra.review.render import run_program
from aisinfra.worksheet.stackfile import PROJECT_DIR, StackConfig
from tests.conftest import WORKSHEET_EXAMPLE

SDK = f"pulumi {version('pulumi')}"


def test_the_config_global_is_still_a_context_variable_holding_a_dict() -> None:
    config = getattr(runtime_config, "CONFIG", None)
    assert isinstance(config, contextvars.ContextVar), f"{SDK}: pulumi.runtime.config.CONFIG changed"
    assert isinstance(config.get(), dict), f"{SDK}: pulumi.runtime.config.CONFIG no longer holds a dict"


def test_set_all_config_still_fills_what_stack_config_lists() -> None:
    def read() -> tuple[dict[str, str], bool]:
        runtime_config.set_all_config({"aisinfra:releaseName": "demo", "aisinfra:x": "1"}, ["aisinfra:x"])
        return sdk.stack_config(), sdk.is_secret("aisinfra:x")

    assert contextvars.Context().run(read) == ({"aisinfra:releaseName": "demo", "aisinfra:x": "1"}, True), SDK


def test_the_clis_config_environment_is_read(monkeypatch: Any) -> None:
    """The CLI's language host passes config and secret keys in the environment, not through CONFIG."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"aisinfra:releaseName": "demo", "aisinfra:x": "1"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["aisinfra:x"]))
    read = contextvars.Context().run(lambda: (sdk.stack_config(), sdk.is_secret("aisinfra:x")))
    assert read == ({"aisinfra:releaseName": "demo", "aisinfra:x": "1"}, True), SDK


def test_the_program_reads_its_worksheet_as_the_cli_passes_it(monkeypatch: Any) -> None:
    config = {key: value if isinstance(value, str) else json.dumps(value) for key, value in WORKSHEET_EXAMPLE.items()}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    rendering = run_program(StackConfig(name="test", path=Path("Pulumi.test.yaml"), values={}, secret_keys=frozenset()))
    assert rendering.release().inputs["name"] == "demo"
    assert len(rendering.node_labels()) == 12


def test_sync_await_still_waits_for_an_awaitable() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert contextvars.Context().run(sdk.wait_for, answer()) == 42, f"{SDK}: _sync_await changed"


def test_run_pulumi_func_is_still_a_coroutine_function_of_one_callable() -> None:
    from pulumi.runtime.stack import run_pulumi_func

    parameters = list(inspect.signature(run_pulumi_func).parameters)
    assert inspect.iscoroutinefunction(run_pulumi_func), f"{SDK}: run_pulumi_func is no coroutine function"
    assert parameters[:1] == ["func"], f"{SDK}: run_pulumi_func takes {parameters}"


@pytest.mark.parametrize("function", [runtime_resource.register_resource, runtime_resource.read_resource])
def test_registrations_still_take_their_stack_trace_from_the_module_global(function: Any) -> None:
    # Looked up by name at each call, so replacing the module's attribute replaces the capture.
    assert "_get_stack_trace" in function.__code__.co_names, f"{SDK}: {function.__name__} no longer calls it"
    parameters = inspect.signature(runtime_resource._get_stack_trace).parameters
    assert not parameters, f"{SDK}: _get_stack_trace takes {list(parameters)}"
    assert runtime_resource._get_source_position(source_pb2.StackTrace()) is None, SDK


def test_a_run_under_mocks_walks_no_stack_and_puts_the_capture_back(make_stack: Any, monkeypatch: Any) -> None:
    capture = runtime_resource._get_stack_trace
    walks = []

    def extract_stack(*args: Any) -> list[Any]:
        walks.append(args)
        return []

    monkeypatch.setattr(traceback, "extract_stack", extract_stack)
    rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
    assert len(rendering.resources) > 12 and walks == []
    assert runtime_resource._get_stack_trace is capture


def test_dependencies_are_still_remembered_through_the_module_globals() -> None:
    names = resource_cycle_breaker.declare_dependency.__code__.co_names
    assert {"_reachable", "_add_dep"} <= set(names), f"{SDK}: declare_dependency calls {names}"
    assert isinstance(resource_cycle_breaker._DEPENDENCIES_PROPERTY, str), SDK


def test_adding_in_place_remembers_what_the_sdk_remembers() -> None:
    """The same dependencies, and the same cycles refused, whichever adds them."""

    class Node:
        pass

    def remembered(add: Any) -> tuple[list[bool], list[set[int]]]:
        nodes: list[Any] = [Node() for _ in range(5)]
        edges = [(0, 1), (1, 2), (0, 2), (2, 0), (3, 0), (1, 3), (4, 4), (3, 4), (4, 3)]
        with mock.patch.object(resource_cycle_breaker, "_add_dep", add):
            accepted = [resource_cycle_breaker.declare_dependency(nodes[a], nodes[b]) for a, b in edges]
        return accepted, [{nodes.index(n) for n in resource_cycle_breaker._deps(node)} for node in nodes]

    assert remembered(sdk.add_dependency_in_place) == remembered(resource_cycle_breaker._add_dep), SDK


def test_a_run_under_mocks_never_copies_a_resources_dependencies(make_stack: Any, monkeypatch: Any) -> None:
    """The Release waits for every node's patches and Job: copying its dependencies at each one
    added was quadratic in the nodes."""
    copies = []
    add = resource_cycle_breaker._add_dep

    def counting(*args: Any) -> None:
        copies.append(args)
        add(*args)

    monkeypatch.setattr(resource_cycle_breaker, "_add_dep", counting)
    rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
    assert len(rendering.release().dependencies) > 3 * 12 and copies == []
    assert resource_cycle_breaker._add_dep is counting  # put back after the run


@pytest.mark.parametrize("package", ["pulumi", "pulumi-kubernetes"])
def test_the_installed_sdk_is_inside_the_tested_range(package: str) -> None:
    requirement = next(
        line for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines() if line.startswith(package + ">")
    )
    low, high = re.fullmatch(rf"{package}>=([\d.]+),<([\d.]+)", requirement).groups()  # type: ignore[union-attr]
    installed = tuple(int(part) for part in version(package).split(".")[:3])
    assert tuple(map(int, low.split("."))) <= installed < tuple(map(int, high.split("."))), requirement


def test_what_a_failed_run_leaves_is_still_reachable_to_clear() -> None:
    """settle_failed_run clears the runtime's outstanding outputs and RPC error, and
    sent_stack_outputs serializes outputs as Stack._finish does."""
    from pulumi.runtime import settings
    from pulumi.runtime.stack import Stack, massage
    from pulumi.runtime.sync_await import _ensure_event_loop

    assert "massage" in Stack._finish.__code__.co_names, SDK
    assert callable(massage) and callable(_ensure_event_loop), SDK
    assert isinstance(settings.SETTINGS.outputs, set) and hasattr(settings._get_rpc_manager(), "clear"), SDK
    assert sdk.sent_stack_outputs({"a": 1}) is not None


def test_a_run_under_mocks_answers_every_monitor_call_where_it_is_made(make_stack: Any) -> None:
    """The SDK hands each call to the monitor to its loop's default executor; under mocks that
    runs it in line, so the run never leaves the main thread. If an SDK upgrade stops using the
    default executor, the calls go back to worker threads and this fails."""
    seen: set[int] = set()
    answer = render._RecordingMonitor._answer

    def answering(monitor: Any, *args: Any) -> Any:
        seen.add(threading.get_ident())
        return answer(monitor, *args)

    with mock.patch.object(render._RecordingMonitor, "_answer", answering):
        rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
    assert len(rendering.resources) > 12
    assert seen == {threading.get_ident()}, SDK


def test_the_loop_runs_its_executor_calls_in_line_only_under_mocks() -> None:
    loop = _ensure_event_loop()

    def thread_of_a_call() -> int:
        return loop.run_until_complete(loop.run_in_executor(None, threading.get_ident))

    with sdk.for_mock_runs():
        assert thread_of_a_call() == threading.get_ident()
    assert thread_of_a_call() != threading.get_ident()


def test_in_line_serializing_gives_what_the_sdk_serializes_and_refuses_to_wait() -> None:
    properties = {"a": [1, 2.5, True, None, {"b": "c"}], "d": {"e": []}, "f": "g"}
    assert sdk.serialized_properties(properties) == sdk.wait_for(rpc.serialize_properties(properties, {})), SDK
    loop = _ensure_event_loop()
    known = loop.create_future()
    known.set_result(True)
    pending = loop.create_future()
    try:
        with pytest.raises(RuntimeError, match="waited for an Output"):
            sdk.serialized_properties({"a": pulumi.Output(set(), pending, known)})
    finally:
        pending.set_result("now")  # the SDK waits for every Output made: the next run in this process would hang
        sdk.wait_for(asyncio.sleep(0))


def test_contains_unknowns_answers_what_the_sdks_answers() -> None:
    from pulumi.output import UNKNOWN

    cyclic: dict[str, Any] = {"a": [1, {"b": "c"}]}
    cyclic["self"] = cyclic

    def requirement(values: list[Any]) -> Any:  # an output type: a dict whose `values` is a field
        return pulumi_kubernetes.core.v1.outputs.NodeSelectorRequirement(key="k", operator="In", values=values)

    values = [
        None,
        "text",
        UNKNOWN,
        {"a": {"b": [1, 2, {"c": UNKNOWN}]}},
        [[[]], {}, [{"d": "e"}]],
        cyclic,
        {"cycle": cyclic, "then": [UNKNOWN]},
        requirement(["x"]),
        {"requirement": requirement([UNKNOWN])},
    ]
    assert [sdk.contains_unknowns(value) for value in values] == [
        False,
        False,
        True,
        True,
        False,
        False,
        True,
        False,
        True,
    ]
    assert [sdk.contains_unknowns(value) for value in values] == [rpc.contains_unknowns(value) for value in values], SDK


def test_a_run_under_mocks_never_calls_the_sdks_contains_unknowns(make_stack: Any, monkeypatch: Any) -> None:
    """Looked up in rpc at each call, by the SDK's serialisation and by its Output."""
    assert "contains_unknowns" in rpc.serialize_property.__code__.co_names, SDK
    assert {"rpc", "contains_unknowns"} <= set(pulumi.output.contains_unknowns.__code__.co_names), SDK
    calls = []
    original = rpc.contains_unknowns

    def counting(value: Any) -> bool:
        calls.append(value)
        return original(value)

    monkeypatch.setattr(rpc, "contains_unknowns", counting)
    rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
    assert len(rendering.resources) > 12 and calls == []
    assert rpc.contains_unknowns is counting  # put back after the run


def test_a_run_under_mocks_unwraps_each_type_once_as_the_sdk_does(make_stack: Any) -> None:
    """Each type object the run asks about is unwrapped once, with the SDK's answer; the SDK's
    serialisation still looks the function up in _types at each call."""
    assert {"_types", "unwrap_type"} <= set(rpc.serialize_property.__code__.co_names), SDK
    original = pulumi_types.unwrap_type
    asked: list[Any] = []

    def unwrap(val: Any) -> Any:
        asked.append(val)
        return original(val)

    with mock.patch.object(pulumi_types, "unwrap_type", unwrap):
        rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
        assert pulumi_types.unwrap_type is unwrap  # put back after the run
    assert len(rendering.resources) > 12
    assert len(asked) == len({id(val) for val in asked}) > 10  # once per type object
    once = sdk.UnwrapOncePerType(original)
    for val in [*asked, *asked]:
        assert once(val) == original(val), (SDK, val)
    assert len(once.answers) == len(asked)
