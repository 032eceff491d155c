"""The only place that reaches into the Pulumi Python SDK past its public API.

Each name below is used because the SDK has no public way to do the same; tests/test_sdk.py
fails, naming the installed SDK version, if an upgrade changes any of them.

- The whole stack config: ``pulumi.Config`` reads one known key at a time, but every
  ``aisinfra:*`` key has to be seen so that a misspelled one is reported, not ignored. The
  Pulumi CLI's language host passes the config in ``PULUMI_CONFIG`` and the secret keys in
  ``PULUMI_CONFIG_SECRET_KEYS`` (read by the public ``get_config_env`` and
  ``get_config_secret_keys_env``); the Automation API and the mock runtime set them with the
  public ``set_all_config``, which only the module global ``CONFIG`` lets one list.
- Waiting for an Output synchronously (``_sync_await``): the program refuses an unsafe change
  before registering anything else, so it must have the stack's last outputs in hand first.
  ``pulumi.run`` (an asynchronous entry point) only exists in the newest SDKs.
- Running a program under mocks (``run_pulumi_func``): what the SDK's own entry point uses to
  run a program and wait for every registration it started.
- Not capturing a stack trace per resource under mocks (``_get_stack_trace``): the SDK walks the
  whole Python stack at every registration, and twice at every read, to send the engine the
  resource's source position. No engine sees it under mocks, yet it was a quarter of a
  2000-node run; the SDK has no setting to turn it off.
- Adding a dependency in place under mocks (``resource_cycle_breaker._add_dep``): the SDK
  remembers each dependency, to refuse cycles, by copying the resource's whole set of them
  plus the new one. The Release waits for every child of the layers, some 3 x 10 000
  resources at 10 000 nodes: half a billion set insertions, quadratic in the nodes.
- Telling whether a value holds an unknown under mocks (``rpc.contains_unknowns``, which the SDK
  and its ``Output`` look up in that module at each call): the SDK's defines a recursive closure
  at every call, a reference cycle only the collector frees. Some 100 calls per node made three
  quarters of a run's objects cycles, and the collection that freed them took 1.7 s after a
  2000-node run. ``contains_unknowns`` here answers the same without one.
- Unwrapping a property's type once per type object under mocks (``_types.unwrap_type``, which
  the SDK's serialisation looks up in that module for every property it serialises): the same
  few hundred type objects, unwrapped 130 times per node, each time importing ``Output`` anew
  and asking ``typing`` about unions. ``UnwrapOncePerType`` keeps each answer for the run.
- What a run sends as the stack's outputs (``massage`` and ``rpc.serialize_properties``, as
  ``Stack._finish`` and ``register_resource_outputs`` do): the mock runtime registers its own
  root stack's outputs before the program runs, so it never sends the program's. After a run
  whose resources failed, the runtime's outstanding outputs and RPC error are cleared
  (``SETTINGS.outputs``, ``_get_rpc_manager``): a fresh context starts from the same objects,
  so they would fail the next run in the same process; its failed futures are collected on
  the SDK's event loop (``_ensure_event_loop``) without logging each one.
- Closing the event loop the SDK opens in the main thread (``_ensure_event_loop``). The SDK
  never closes it; left to the interpreter's shutdown, a loop collected after its own self-pipe
  socket printed "Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor: -1"
  after a command's output, in some runs and not others (issue 22).
- Answering the monitor's calls in line under mocks: the SDK hands every call to the monitor to
  its event loop's (``_ensure_event_loop``) default executor, a thread pool, because a gRPC call
  to an engine must not block the loop. The mock monitor answers in the same process at once;
  handing each call to a thread and its answer back (a wake-up of the loop) cost more than the
  answer. Under ``for_mock_runs`` the loop's default executor (public asyncio API) runs each call
  where it is made.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from pulumi import _types as pulumi_types
from pulumi.runtime import config as runtime_config
from pulumi.runtime import known_types, resource_cycle_breaker, rpc, settings
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import massage, run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

T = TypeVar("T")


def stack_config() -> dict[str, str]:
    """Every key of the running stack's config (``namespace:key``) with its value."""
    keys = set(runtime_config.get_config_env()) | set(runtime_config.CONFIG.get())
    return {key: runtime_config.get_config(key) for key in sorted(keys)}


def is_secret(key: str) -> bool:
    """Whether the stack's config value ``key`` was set with ``--secret``."""
    return runtime_config.is_config_secret(key) or key in runtime_config.get_config_secret_keys_env()


def close_event_loops() -> None:
    """Close the event loop the SDK opened in this process's main thread unless something runs on
    it: at the process's exit, before the interpreter's shutdown collects it in an order that can
    break it."""
    loop = _ensure_event_loop()
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


# At the process's exit, before the interpreter's shutdown: whatever ran the program (a command,
# the test suite, Pulumi's language host, which closes only the loop it made itself).
atexit.register(close_event_loops)


def wait_for(awaitable: Awaitable[T]) -> T:
    return _sync_await(awaitable)


def run_program_function(program: Callable[[], Any]) -> None:
    """Run ``program`` as the SDK runs a Pulumi program, until all it registered is done."""
    wait_for(run_pulumi_func(program))


@contextlib.contextmanager
def for_mock_runs() -> Iterator[None]:
    """Resources registered inside carry no stack trace and no source position, which no engine
    records under mocks; their dependencies are remembered without copying; telling unknowns
    and unwrapping types leave no cycles and ask each type once; and each call to the (mock)
    monitor is answered where it is made, not in a worker thread (the module's docstring says
    why for each)."""
    capture, add, look = runtime_resource._get_stack_trace, resource_cycle_breaker._add_dep, rpc.contains_unknowns
    unwrap = pulumi_types.unwrap_type
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    resource_cycle_breaker._add_dep = add_dependency_in_place
    rpc.contains_unknowns = contains_unknowns
    pulumi_types.unwrap_type = UnwrapOncePerType(unwrap)
    loop = _ensure_event_loop()
    loop.set_default_executor(InLineExecutor())
    try:
        yield
    finally:
        runtime_resource._get_stack_trace, resource_cycle_breaker._add_dep = capture, add
        rpc.contains_unknowns, pulumi_types.unwrap_type = look, unwrap
        # What the loop would make at its next call, as before: a pool that starts no thread until used.
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor())


class InLineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call as it is submitted, in the submitting thread, and hands back its finished
    future; a thread pool by type only, which is what asyncio requires of a default executor."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # as a pool's worker hands on whatever the call raised
            future.set_exception(error)
        return future


class UnwrapOncePerType:
    """``unwrap``'s answer for each type object, worked out the first time it is asked. Keyed by
    the object itself, not by equality: ``Union[A, B] == Union[B, A]``, yet unwrapping reads the
    order of a union's members."""

    def __init__(self, unwrap: Callable[[Any], Any]) -> None:
        self.unwrap = unwrap
        self.answers: dict[int, tuple[Any, Any]] = {}  # id -> (the type, kept so its id stays its own; answer)

    def __call__(self, val: Any) -> Any:
        known = self.answers.get(id(val))
        if known is None:
            known = self.answers[id(val)] = (val, self.unwrap(val))
        return known[1]


def contains_unknowns(val: Any) -> bool:
    """Whether ``val``, or anything in the dicts and lists it holds, is unknown: what
    ``rpc.contains_unknowns`` answers (each object looked into once, so a cycle ends), with no
    closure left for the collector."""
    if not isinstance(val, dict | list):  # most values asked about: a string, a number
        return known_types.is_unknown(val)
    seen: set[int] = set()
    pending = [val]
    while pending:
        item = pending.pop()
        if known_types.is_unknown(item):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):  # input types too, whose attributes may shadow dict's methods
            pending += [item[key] for key in item]
        elif isinstance(item, list):
            pending += item
    return False


def add_dependency_in_place(from_resource: Any, to_resource: Any) -> None:
    """What ``_add_dep`` remembers -- ``from_resource`` depends on ``to_resource`` -- in the set
    the resource already has. Nothing holds on to that set: the SDK only walks it, to the end,
    before it adds to it."""
    dependencies = resource_cycle_breaker._deps(from_resource)
    dependencies.add(to_resource)
    setattr(from_resource, resource_cycle_breaker._DEPENDENCIES_PROPERTY, dependencies)


def serialized_properties(properties: dict[str, Any]) -> Any:
    """``properties`` as the SDK serializes them for the engine (``rpc.serialize_properties``),
    run to its end in the calling thread with no event loop: for plain values (no Output, no
    resource) the coroutine finishes without waiting for anything, and if it ever has to wait,
    this fails rather than block."""
    coroutine = rpc.serialize_properties(properties, {})
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise RuntimeError("serializing the properties waited for an Output: only plain values can be serialized in line")


def sent_stack_outputs(outputs: dict[str, Any]) -> Any | None:
    """The stack's outputs as the SDK serializes them for the engine at the end of a run, or
    None when one of them failed to resolve: then the SDK sends none of them."""
    try:
        return wait_for(rpc.serialize_properties(massage(outputs, []), {}))
    except Exception:  # any failure of a value: the SDK then sends nothing
        return None


def settle_failed_run() -> None:
    """Forget every registration and output a failed run left pending, so that none of them
    fails the next run in this process."""
    # The runtime's bookkeeping of outstanding outputs and RPCs (and the first RPC error) is
    # shared with every later context: a fresh one starts from these same objects.
    settings.SETTINGS.outputs.clear()
    settings._get_rpc_manager().clear()
    collect_quietly()


def collect_quietly() -> None:
    """Collect the failed futures of earlier runs now. Each logs "exception was never
    retrieved" when collected; collected in the middle of a run's ast.parse (the chart
    fingerprint), that logging breaks it. The run that failed already said what failed."""
    loop = _ensure_event_loop()
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, _context: None)
    try:
        gc.collect()
    finally:
        loop.set_exception_handler(handler)
